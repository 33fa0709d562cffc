"""Add up the pytest summary lines of a tox log into one closing line."""
import re
import sys

KINDS = ("passed", "failed", "skipped", "xfailed", "xpassed", "error", "errors")


def main(path):
    totals = dict.fromkeys(KINDS, 0)
    with open(path, errors="replace") as log:
        for line in log:
            line = line.strip().strip("=").strip()
            if not re.search(r"\bin [\d.]+ ?s(econds)?\b", line):
                continue
            for number, kind in re.findall(r"(\d+) (%s)\b" % "|".join(KINDS), line):
                totals[kind] += int(number)
    errors = totals.pop("error") + totals.pop("errors")
    print(
        "total: %d passed, %d failed, %d skipped"
        % (totals["passed"], totals["failed"] + errors, totals["skipped"])
    )


if __name__ == "__main__":
    main(sys.argv[1])
