#!/usr/bin/env python3
"""liburing-markers.py SRC_TEST_DIR OUT_DIR: copies liburing's upstream
test/bpf_nops.c and test/bpf_cp.c (from Debian's liburing source package, as
tools/setup.sh unpacks it) into OUT_DIR and inserts the insn_count markers
(marker.h) around their single io_uring_enter() call, plus a report line.
It also lets the build set NR_ITERS (bpf_nops) and the buffer size (bpf_cp,
CP_BUFFER_SIZE). Nothing else changes. Each edit names the exact upstream
line it anchors on and must match it exactly once: a liburing version whose
tests differ stops the build here, loudly, rather than measuring something
else. The upstream files are never stored in this project."""
import os
import sys

ENTER = "\tret = io_uring_enter(ring.ring_fd, 0, 0, IORING_ENTER_GETEVENTS, NULL);\n"
BEGIN = ("\t/* iouloop bench/icount: the measured region, id from $IOUPERF_ID */\n"
         "\tstruct iou_region region;\n"
         "\tiou_region_begin_env(&region);\n")
END = "\tiou_region_end(&region);\n"
INCLUDE = '#include "helpers.h"\n'

EDITS = {
    "bpf_nops.c": [
        (INCLUDE, INCLUDE + '#include "marker.h"\n'),
        ("#define NR_ITERS 1000\n", "#ifndef NR_ITERS\n#define NR_ITERS 1000\n#endif\n"),
        (ENTER, BEGIN + ENTER + END),
        ("\tbpf_link__destroy(nops_bpf_link);\n",
         "\tiou_region_report(&region, \"upstream-bpf_nops-d8\", NR_ITERS);\n"
         "\tbpf_link__destroy(nops_bpf_link);\n"),
    ],
    "bpf_cp.c": [
        (INCLUDE, INCLUDE + '#include "marker.h"\n'),
        ("static size_t buffer_size = 4096;\n",
         "#ifndef CP_BUFFER_SIZE\n#define CP_BUFFER_SIZE 4096\n#endif\n"
         "static size_t buffer_size = CP_BUFFER_SIZE;\n"),
        (ENTER, BEGIN + ENTER + END),
        ("\tbpf_link__destroy(cp_bpf_link);\n",
         "\t{\n\t\tchar label[64];\n"
         "\t\tsnprintf(label, sizeof label, \"upstream-bpf_cp-%zuk-d1\", buffer_size >> 10);\n"
         "\t\tiou_region_report(&region, label, file_size / buffer_size);\n\t}\n"
         "\tbpf_link__destroy(cp_bpf_link);\n"),
    ],
}


def main(src, out):
    os.makedirs(out, exist_ok=True)
    for name, edits in EDITS.items():
        text = open(os.path.join(src, name)).read()
        for old, new in edits:
            n = text.count(old)
            if n != 1:
                sys.exit(f"liburing-markers: {src}/{name}: expected the line {old.strip()!r} once, found it {n} times "
                         "(another liburing version? the measured region would not be the same)")
            text = text.replace(old, new)
        open(os.path.join(out, name), "w").write(text)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
