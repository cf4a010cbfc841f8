"""System libraries iouloop builds against, as installed by tools/setup.sh.

A consumer workspace calls iouloop_system_deps() after declaring @iouloop.
"""

load("@iouloop//third_party:system.bzl", "iouloop_system_repository")

def iouloop_system_deps():
    """Declares @iouloop_system: Catch2 v3, libbpf (static), liburing >= 2.5."""
    iouloop_system_repository(
        name = "iouloop_system",
        build_file = "@iouloop//third_party:system.BUILD",
    )
