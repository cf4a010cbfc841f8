"""iouloop_kernel_module: iouloop_kmod.ko with a list of policies compiled in;
iouloop_native_policy_list: that list as a library for the host programs."""

def _headers_of_impl(ctx):
    return [DefaultInfo(files = depset(transitive = [d[CcInfo].compilation_context.headers for d in ctx.attr.deps]))]

# The headers of cc_library targets, transitive, as files: a genrule's srcs
# get a cc_library's default outputs only, which for a header-only library
# are none, so a changed policy header would not rebuild the module.
_headers_of = rule(
    implementation = _headers_of_impl,
    attrs = {"deps": attr.label_list(providers = [CcInfo])},
)

# A file of this package as a path from the workspace's root ("list.hpp" in
# the root package, not "/list.hpp").
def _path_in_workspace(name):
    return native.package_name() + "/" + name if native.package_name() else name

def iouloop_native_policy_list(name, policy_list, deps = [], **kwargs):
    """The cc_library `name` of a list of native policies, for host programs.

    policy_list: the list header (kernel/kmod/native_policies.hpp is the
    project's), which includes LIST.fingerprint.h (LIST without .hpp). This
    rule generates that header from the list, the headers it includes, the
    library's and the module's sources (kernel/kmod/fingerprint.sh), as
    kernel/kmod/build.sh does for the module; kernel_engine sends it at
    attach, and a module built from other sources refuses it (ESTALE).
    deps: the libraries of the policy headers.
    """
    if not policy_list.endswith(".hpp"):
        fail("iouloop_native_policy_list: policy_list must be a .hpp header, not " + policy_list)
    fingerprint = policy_list[:-len(".hpp")] + ".fingerprint.h"
    _headers_of(
        name = name + "_sources",
        deps = deps,
    )
    native.genrule(
        name = name + "_fingerprint",
        srcs = [policy_list, ":" + name + "_sources"] + [
            str(Label("//kernel/kmod:module_sources")),
            str(Label("//:headers")),
        ],
        outs = [fingerprint],
        cmd = "$(location %s) . %s > $@" % (str(Label("//kernel/kmod:fingerprint.sh")), _path_in_workspace(policy_list)),
        tools = [str(Label("//kernel/kmod:fingerprint.sh"))],
    )
    native.cc_library(
        name = name,
        hdrs = [policy_list, fingerprint],
        deps = deps,
        **kwargs
    )

def iouloop_kernel_module(name, policy_list, deps = [], **kwargs):
    """Builds `name`.ko: kernel/kmod's module with the policies `policy_list` names.

    policy_list: a header of this package, in the iouloop workspace or in one
    that depends on it (tests/consumer has one), that includes the policy
    headers with "..." and defines IOULOOP_NATIVE_POLICIES(X) with X(name,
    type) per policy (kernel/kmod/native_policies.hpp is the project's);
    build.sh copies what it includes from that workspace. deps: the libraries
    of those headers: a change to any header they hold, transitively,
    rebuilds the module.

    The build runs kernel/kmod/build.sh: as root, in the sid root that
    kernel/kmod/setup-kbuild.sh prepares (the test kernel's headers, gcc-16),
    outside Bazel's sandbox (chroot). Tagged manual: `bazel build //...`
    does not need root; tools/test.sh's stage 6 builds it. Host programs that
    attach these policies include the same list and write
    IOULOOP_NATIVE_STEPS(IOULOOP_NATIVE_POLICIES) once.
    """
    build_sh = str(Label("//kernel/kmod:build.sh"))
    _headers_of(
        name = name + "_headers",
        deps = deps,
        tags = ["manual"],
    )
    native.genrule(
        name = name,
        srcs = [policy_list, ":" + name + "_headers"] + [
            str(Label("//kernel/kmod:module_sources")),
            str(Label("//:headers")),
        ],
        outs = [name + ".ko"],
        cmd = ("$(location %s) --root . --list %s $(@D)/%s.build >/dev/null && " +
               "mv $(@D)/%s.build/iouloop_kmod.ko $@ && rm -rf $(@D)/%s.build") % (build_sh, _path_in_workspace(policy_list), name, name, name),
        # build.sh runs fingerprint.sh: a new one makes another fingerprint
        tools = [build_sh, str(Label("//kernel/kmod:fingerprint.sh"))],
        local = True,
        tags = ["manual"],
        **kwargs
    )
