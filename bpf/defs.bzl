"""iouloop_bpf_program: a policy translation unit -> BPF object -> typed header.

    load("@iouloop//bpf:defs.bzl", "iouloop_bpf_program")

    iouloop_bpf_program(
        name = "nop_bpf",
        src = "nop.bpf.cc",          # includes <iouloop/bpf/program.hpp> + IOULOOP_BPF_POLICY(...)
                                     # (a .c source is compiled as C: hand-written programs)
        deps = [":nop_policy"],      # cc_library targets with the policy headers
    )

gives `nop_bpf.bpf.o` and a cc_library `nop_bpf` whose header `nop_bpf.bpf.h`
embeds the object: `nop_bpf::image()` is what iouloop::bpf_engine loads.
Include it as "<package>/nop_bpf.bpf.h".

The params layout is checked at build time. `src` is compiled a second time
with -DIOULOOP_LAYOUT_PROBE into `nop_bpf.probe.bpf.o` (never loaded), whose
BTF holds each policy's params_type; //bpf:btf_layout reads it and
- fails the build if a params_type holds a pointer (anywhere: nested structs,
  unions, arrays), saying to store a user address as iouloop::u64;
- otherwise generates, per IOULOOP_BPF_POLICY(NAME, ...), a handle
  `nop_bpf::programs::NAME` (name, image(), region_bytes, layout_matches<Params>())
  into nop_bpf.bpf.h. `iouloop::bpf_engine<P>(ring, params, nop_bpf::programs::nop{})`
  static_asserts that P's params_type has the BPF object's layout.
"""

_BPF_COPTS = [
    "-target",
    "bpf",
    "-mcpu=v4",
    "-O2",
    "-g",
    # an empty .linker-options section would make libbpf's linker refuse the object
    "-fno-autolink",
    # full BTF for types only used through pointers (struct iou_ctx): libbpf
    # matches kfunc prototypes kind by kind, and a forward declaration is not
    # the kernel's STRUCT
    "-fstandalone-debug",
    "-Wall",
    "-Wno-unused-function",
]

def _bpf_object_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".bpf.o")
    headers = []
    includes = []
    for dep in ctx.attr.deps + [ctx.attr._glue]:
        cc = dep[CcInfo].compilation_context
        headers.append(cc.headers)
        for inc in cc.includes.to_list() + cc.quote_includes.to_list() + cc.system_includes.to_list():
            includes.append(inc)
    args = ctx.actions.args()
    if ctx.file.src.extension == "c":
        args.add_all(["-x", "c", "-std=gnu11"])
    else:
        args.add_all(["-x", "c++", "-std=c++20", "-fno-exceptions", "-fno-rtti"])
    args.add_all(_BPF_COPTS)
    if ctx.attr.layout_probe:
        args.add("-DIOULOOP_LAYOUT_PROBE")
    args.add_all(ctx.attr.copts)
    args.add("-I.")
    args.add("-I" + ctx.bin_dir.path)
    for inc in includes:
        args.add("-I" + inc)
    args.add("-c", ctx.file.src)
    args.add("-o", out)
    ctx.actions.run(
        executable = ctx.attr.clang,
        arguments = [args],
        inputs = depset([ctx.file.src], transitive = headers),
        outputs = [out],
        mnemonic = "BpfLayoutProbe" if ctx.attr.layout_probe else "BpfCompile",
        progress_message = ("Compiling %s for BPF" + (" (layout probe)" if ctx.attr.layout_probe else "")) % ctx.file.src.short_path,
        use_default_shell_env = True,
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

# Public as iouloop_bpf_object: only compiles (a test can build an object the
# layout check refuses without failing //...).
iouloop_bpf_object = rule(
    implementation = _bpf_object_impl,
    doc = "Compiles `src` into NAME.bpf.o with clang -target bpf; layout_probe = True adds -DIOULOOP_LAYOUT_PROBE.",
    attrs = {
        "src": attr.label(allow_single_file = True, mandatory = True),
        "deps": attr.label_list(providers = [CcInfo]),
        "copts": attr.string_list(),
        # IOULOOP_BPF_POLICY then emits only what bpf/btf_layout.cc reads.
        "layout_probe": attr.bool(default = False),
        # An absolute path: clang-19 is the first Debian bookworm clang with -mcpu=v4.
        "clang": attr.string(default = "/usr/bin/clang-19"),
        # iouloop/bpf/program.hpp (IOULOOP_BPF_POLICY) and what it includes
        "_glue": attr.label(default = Label("//:bpf_glue"), providers = [CcInfo]),
    },
)

def _bpf_embed_impl(ctx):
    obj = ctx.file.object
    out = ctx.actions.declare_file(ctx.attr.object_name + ".bpf.h")
    ns = ctx.attr.namespace
    label = "%s//%s:%s" % ("@" + ctx.label.workspace_name if ctx.label.workspace_name else "", ctx.label.package, ctx.attr.object_name)

    # Refuses pointers in params; writes the typed program handles.
    layout = ctx.actions.declare_file(ctx.attr.object_name + ".bpf.layout.inc")
    ctx.actions.run(
        executable = ctx.executable._btf_layout,
        arguments = [ctx.file.probe.path, "--namespace", ns, "--label", label, "--out", layout.path],
        inputs = [ctx.file.probe],
        outputs = [layout],
        mnemonic = "BpfLayout",
        progress_message = "Checking the params layout of %s" % label,
    )
    ctx.actions.run_shell(
        inputs = [obj, layout],
        outputs = [out],
        command = """
set -eu
{{
  echo '// Generated by iouloop_bpf_program from {src}: do not edit.'
  echo '#pragma once'
  echo '#include <iouloop/engine/bpf.hpp>'
  echo '#include <iouloop/engine/layout.hpp>'
  echo 'namespace {ns} {{'
  echo "alignas(8) inline constexpr unsigned char object_bytes[] = {{"
  od -An -v -tx1 "$1" | sed -e 's/ \\([0-9a-f][0-9a-f]\\)/0x\\1,/g'
  echo '}};'
  echo 'inline iouloop::bpf_image image() {{ return {{object_bytes, sizeof object_bytes, "{name}"}}; }}'
  cat "$3"
  echo '}}  // namespace {ns}'
}} > "$2"
""".format(ns = ns, name = ctx.attr.object_name, src = obj.short_path),
        arguments = [obj.path, out.path, layout.path],
        mnemonic = "BpfEmbed",
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

_bpf_embed = rule(
    implementation = _bpf_embed_impl,
    attrs = {
        "object": attr.label(allow_single_file = True, mandatory = True),
        # the same source compiled with layout_probe = True
        "probe": attr.label(allow_single_file = True, mandatory = True),
        "namespace": attr.string(mandatory = True),
        "object_name": attr.string(mandatory = True),
        "_btf_layout": attr.label(
            default = Label("//bpf:btf_layout"),
            executable = True,
            cfg = "exec",
        ),
    },
)

def iouloop_bpf_program(name, src, deps = [], copts = [], visibility = None, tags = []):
    """Builds `src` into a BPF object and a cc_library embedding it.

    Args:
      name: target name; also the C++ namespace of the generated header.
      src: the BPF translation unit (IOULOOP_BPF_POLICY lines).
      deps: cc_library targets providing the policy headers.
      copts: extra clang flags.
      visibility: of the cc_library.
      tags: for all targets.
    """
    iouloop_bpf_object(
        name = name + ".object",
        src = src,
        deps = deps,
        copts = copts,
        tags = tags,
    )
    iouloop_bpf_object(
        name = name + ".probe",
        src = src,
        deps = deps,
        copts = copts,
        layout_probe = True,
        tags = tags,
    )
    _bpf_embed(
        name = name + ".embed",
        object = ":" + name + ".object",
        probe = ":" + name + ".probe",
        namespace = name,
        object_name = name,
        tags = tags,
    )
    native.cc_library(
        name = name,
        hdrs = [":" + name + ".embed"],
        deps = [Label("//:bpf_engine")],
        visibility = visibility,
        tags = tags,
    )

def iouloop_binary(name, srcs, deps = [], **kwargs):
    """Declares cc_binary `name` and its static twin `name + "_static"`.

    The twin (tags = ["manual"]) is what tools/vm/run.sh puts in the VM's
    initramfs, to run the program on a kernel with io_uring_bpf_ops:

        bazel build //examples/cp:cp_static && tools/vm/run.sh --args "--demo 8" bazel-bin/examples/cp/cp_static
    """
    native.cc_binary(name = name, srcs = srcs, deps = deps, **kwargs)
    native.cc_binary(
        name = name + "_static",
        srcs = srcs,
        deps = deps,
        linkopts = ["-static"],
        tags = ["manual"],
        **kwargs
    )
