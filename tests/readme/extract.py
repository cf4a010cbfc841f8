#!/usr/bin/env python3
"""Extracts the README's C++ blocks for //tests/readme, exactly as printed.

Every ```cpp block in README.md must be preceded by a marker line:

  <!-- readme-test: policy NAME.hpp -->              the block is the header NAME.hpp
  <!-- readme-test: host NAME.hpp check: EXPR -->   the block is host code that uses
                                                    NAME.hpp's policy; it becomes
                                                    `bool readme_host_NAME()` in
                                                    NAME_host.inc, returning EXPR

Usage: extract.py README.md OUTDIR FILE...   (FILE: the outputs Bazel expects)
A ```cpp block without a marker, a marker without a block, or a set of files
other than FILE... is an error: the README cannot show C++ the tests do not build.
"""
import os
import re
import sys

MARK = re.compile(r"^<!-- readme-test: (policy|host) ([A-Za-z0-9_]+)\.hpp(?: check: (.*?))? -->$")


def main():
    readme, outdir, expected = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    lines = open(readme, encoding="utf-8").read().split("\n")
    out = {}
    errors = []
    pending = None  # (kind, name, check, marker line number)
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARK.match(line)
        if m:
            if pending:
                errors.append(f"README.md:{pending[3]}: marker not followed by a ```cpp block")
            pending = (m.group(1), m.group(2), m.group(3), i + 1)
        elif line.startswith("```"):
            lang = line[3:].strip()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            body = "\n".join(lines[i + 1:j]) + "\n"
            if lang == "cpp":
                if not pending:
                    errors.append(f"README.md:{i + 1}: a ```cpp block without a readme-test marker "
                                  "(add <!-- readme-test: policy NAME.hpp --> or <!-- readme-test: host NAME.hpp check: EXPR -->)")
                else:
                    kind, name, check, at = pending
                    src = f"README.md lines {i + 2}-{j}"
                    if kind == "policy":
                        out[f"{name}.hpp"] = f"// Extracted from {src} by tests/readme/extract.py. Do not edit.\n#pragma once\n" + body
                    else:
                        if not check:
                            errors.append(f"README.md:{at}: a host block needs `check: EXPR`")
                            check = "false"
                        indented = "".join("  " + l + "\n" if l else "\n" for l in body.rstrip("\n").split("\n"))
                        out[f"{name}_host.inc"] = (
                            f"// Extracted from {src} by tests/readme/extract.py. Do not edit.\n"
                            f"inline bool readme_host_{name}() {{\n{indented}  return {check};\n}}\n")
                pending = None
            elif pending:
                errors.append(f"README.md:{pending[3]}: marker followed by a ```{lang} block, not ```cpp")
                pending = None
            i = j
        i += 1
    if pending:
        errors.append(f"README.md:{pending[3]}: marker not followed by a ```cpp block")
    if set(out) != expected:
        errors.append(f"the README's marked blocks give {sorted(out)}, but tests/readme/BUILD.bazel expects "
                      f"{sorted(expected)}: update `outs` there")
    if errors:
        sys.exit("tests/readme/extract.py: " + "\n  ".join(errors))
    for name, text in out.items():
        with open(os.path.join(outdir, name), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
