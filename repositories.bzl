"""System libraries iouloop builds against, as installed by tools/setup.sh.

A consumer workspace calls iouloop_system_deps() after declaring @iouloop.
"""

def iouloop_system_deps():
    """Declares @iouloop_system: Catch2 v3, libbpf (static), liburing >= 2.5."""
    native.new_local_repository(
        name = "iouloop_system",
        path = "/",
        build_file = "@iouloop//third_party:system.BUILD",
    )
