"""iouloop_test: a Catch2 test on the host, and optionally a static twin for the VM.

(iouloop_binary, the same for programs, is public: //bpf:defs.bzl.)"""

def iouloop_test(name, srcs, deps = [], vm = True, host = True, tags = [], data = [], size = "small", **kwargs):
    """Declares cc_test `name`; with vm = True also cc_binary `name + "_static"`.

    host = False declares only the static binary (for tests that need a
    kernel with io_uring_bpf_ops).

    The static twin is linked with -static so that tools/vm/run.sh can put it
    in the VM's initramfs, where the kernel has io_uring_bpf_ops.
    """
    all_deps = deps + ["//:iouloop", "//tests/support:catch2"]
    if host:
        native.cc_test(
            name = name,
            srcs = srcs,
            deps = all_deps,
            tags = tags,
            data = data,
            size = size,
            **kwargs
        )
    if vm or not host:
        native.cc_binary(
            name = name + "_static",
            srcs = srcs,
            deps = all_deps,
            linkopts = ["-static"],
            # iouloop_vm: tools/test.sh runs every target with this tag in
            # the VM (bazel query), so the VM's test plan is not kept by hand.
            tags = ["manual", "iouloop_vm"],
            **kwargs
        )
