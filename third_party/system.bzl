"""@iouloop_system: the system libraries and tools iouloop builds with.

A repository rule rather than a new_local_repository of "/": it exposes only
the header folders iouloop needs (include/catch2, include/bpf, liburing), so no
compile ever gets -isystem /usr/include (that broke libstdc++'s
`#include_next <stdlib.h>` whenever a compile ran unsandboxed, as Bazel 7 does
for no-sandbox targets), and it finds what differs between Debian releases:

  - the clang that compiles policies for BPF (clang 19 or newer, for
    -mcpu=v4): $IOULOOP_BPF_CLANG, else the newest clang-NN on PATH, else
    `clang` if it is new enough. If it crashes on a three-line C++ class
    with a member function for BPF with -g (clang 21 and 22 do),
    IOULOOP_BPF_CLANG_IR_FIX = True: the rule then compiles C++ in two steps
    with //bpf:btf_ir_fix between them. Written to //:toolchain.bzl as
    IOULOOP_BPF_CLANG, the default of iouloop_bpf_program's `clang`.
  - libCatch2.a, libbpf.a, libelf.a, libz.a, libzstd.a, liburing.a under
    /usr/lib or the multiarch folder; liburing from /opt/iouloop/liburing
    (tools/setup.sh builds it there on bookworm) else the system's
    liburing-dev (2.5 or newer).
  - sid's static libelf.a defines crc32 as zlib does (elfutils' own copy, the
    same function): with lld both get linked and the link fails with
    "duplicate symbol: crc32". When both define it, the repository holds a
    copy of libelf.a with its crc32 made weak (objcopy --weaken-symbol), so
    zlib's wins and libelf's own callers get the identical function.
"""

_LIBDIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib"]

def _find_lib(ctx, name):
    for d in _LIBDIRS:
        p = ctx.path(d + "/" + name)
        if p.exists:
            return p
    fail("iouloop_system: %s not found in %s: run tools/setup.sh (it installs the -dev packages iouloop links statically)" % (name, " or ".join(_LIBDIRS)))

def _clang_major(ctx, clang):
    r = ctx.execute([clang, "--version"])
    if r.return_code != 0:
        return 0
    words = r.stdout.split("clang version ")
    if len(words) < 2:
        return 0
    major = words[1].split(".")[0]
    return int(major) if major.isdigit() else 0

# A C++ class with a member function, in the BTF of a BPF object: what every
# iouloop policy's object holds (the ring views, uaddr, bounded_array). Debian
# sid's clang 21.1.8 and 22.1.8 crash in BPF code generation on it (SIGTRAP
# in the backend's BTF emission; docs/toolchains.md); clang 19 does not.
_BTF_SELF_CHECK = """struct iouloop_check { unsigned x; unsigned get() const { return x; } };
struct iouloop_outer { iouloop_check c; };
extern "C" int iouloop_check_use(iouloop_outer* o) { return o->c.get(); }
"""

def _btf_ok(ctx, clang):
    r = ctx.execute([
        clang,
        "-x",
        "c++",
        "-std=c++20",
        "-target",
        "bpf",
        "-mcpu=v4",
        "-O2",
        "-g",
        "-fstandalone-debug",
        "-c",
        "btf_self_check.cc",
        "-o",
        "btf_self_check.o",
    ])
    return r.return_code == 0

def _find_bpf_clang(ctx):
    """Returns (clang, whether it needs //bpf:btf_ir_fix)."""
    ctx.file("btf_self_check.cc", _BTF_SELF_CHECK)
    env = ctx.os.environ.get("IOULOOP_BPF_CLANG", "")
    if env:
        p = ctx.which(env) if not env.startswith("/") else ctx.path(env)
        if not p or not p.exists:
            fail("iouloop_system: IOULOOP_BPF_CLANG=%s: no such program" % env)
        if _clang_major(ctx, str(p)) < 19:
            fail("iouloop_system: IOULOOP_BPF_CLANG=%s is clang %d: iouloop needs clang 19 or newer (-mcpu=v4)" % (env, _clang_major(ctx, str(p))))
        return str(p), not _btf_ok(ctx, str(p))
    for v in range(30, 18, -1):
        p = ctx.which("clang-%d" % v)
        if p:
            return str(p), not _btf_ok(ctx, str(p))
    p = ctx.which("clang")
    if p and _clang_major(ctx, p) >= 19:
        return str(p), not _btf_ok(ctx, str(p))
    fail("iouloop_system: no clang 19 or newer for BPF (-mcpu=v4): install clang-19 (Debian bookworm: apt-get install clang-19) or set IOULOOP_BPF_CLANG=/path/to/clang")

def _defines_crc32(ctx, lib):
    r = ctx.execute(["nm", "-g", "--defined-only", str(lib)])
    return r.return_code == 0 and (" T crc32\n" in r.stdout)

def _impl(ctx):
    # Headers: only the folders iouloop includes from.
    ctx.symlink("/usr/include/catch2", "include/catch2")
    ctx.symlink("/usr/include/bpf", "include/bpf")
    opt = ctx.path("/opt/iouloop/liburing")
    if opt.get_child("include").get_child("liburing.h").exists:
        ctx.symlink(str(opt) + "/include/liburing.h", "uring/include/liburing.h")
        ctx.symlink(str(opt) + "/include/liburing", "uring/include/liburing")
        ctx.symlink(str(opt) + "/lib/liburing.a", "lib/liburing.a")
    elif ctx.path("/usr/include/liburing.h").exists:
        ctx.symlink("/usr/include/liburing.h", "uring/include/liburing.h")
        ctx.symlink("/usr/include/liburing", "uring/include/liburing")
        ctx.symlink(_find_lib(ctx, "liburing.a"), "lib/liburing.a")
    else:
        fail("iouloop_system: liburing not found (/opt/iouloop/liburing or liburing-dev): run tools/setup.sh")
    for lib in ["libCatch2.a", "libbpf.a", "libz.a", "libzstd.a"]:
        ctx.symlink(_find_lib(ctx, lib), "lib/" + lib)
    libelf = _find_lib(ctx, "libelf.a")
    zlib = _find_lib(ctx, "libz.a")
    if _defines_crc32(ctx, libelf) and _defines_crc32(ctx, zlib):
        r = ctx.execute(["objcopy", "--weaken-symbol=crc32", str(libelf), "lib/libelf.a"])
        if r.return_code != 0:
            fail("iouloop_system: objcopy --weaken-symbol=crc32 on %s failed (binutils needed): %s" % (libelf, r.stderr))
        crc = "weakened (libelf.a and libz.a both define crc32)"
    else:
        ctx.symlink(libelf, "lib/libelf.a")
        crc = "as installed"
    clang, ir_fix = _find_bpf_clang(ctx)
    force = ctx.os.environ.get("IOULOOP_BPF_IR_FIX", "")
    if force in ("0", "1"):
        ir_fix = force == "1"  # to test the two-step compile with any clang
    ctx.file("toolchain.bzl", """\"\"\"Generated by @iouloop//third_party:system.bzl.\"\"\"

# The clang iouloop_bpf_program compiles policies with (clang %d).
IOULOOP_BPF_CLANG = "%s"

# Whether it crashes generating BTF for a C++ class with a member function
# (clang 21 and 22 do): C++ policies then compile in two steps with
# //bpf:btf_ir_fix between them (docs/toolchains.md).
IOULOOP_BPF_CLANG_IR_FIX = %s

# libelf.a: %s
""" % (_clang_major(ctx, clang), clang, "True" if ir_fix else "False", crc))
    ctx.symlink(ctx.attr.build_file, "BUILD.bazel")

iouloop_system_repository = repository_rule(
    implementation = _impl,
    attrs = {"build_file": attr.label(allow_single_file = True, mandatory = True)},
    environ = ["IOULOOP_BPF_CLANG", "IOULOOP_BPF_IR_FIX", "PATH"],
    local = True,
    doc = "Declares @iouloop_system from the libraries and clang on this machine.",
)
