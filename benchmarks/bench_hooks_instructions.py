"""Instructions per hooked call, counted by callgrind: the rows of bench_hooks.py, without the noise.

On a shared machine wall and CPU times of a ~200 ns call move by 10% from
run to run; the number of machine instructions a call executes hardly
does (the children run with PYTHONHASHSEED=0). Each row runs in a child process
under ``valgrind --tool=callgrind`` twice, with ``--calls`` calls and with
none; the difference divided by ``--calls`` is the cost of one call (the
loop included, as in the bare row, so "added" is what the wrapping adds).
Instructions are not nanoseconds (a clock read or a cache miss costs more
than its count), but a change that removes instructions from the dispatch
shows here exactly. Needs valgrind on PATH and what bench_hooks.py needs::

    python benchmarks/bench_hooks_instructions.py                     # function and raises
    python benchmarks/bench_hooks_instructions.py --kinds function --calls 50000
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import bench_hooks  # noqa: E402


def child(kind, variant, calls):
    """Build one row and call it ``calls`` times (run under callgrind)."""
    install = dict(bench_hooks.VARIANTS)[variant]
    owner, _ = bench_hooks._fresh(kind)
    install(kind, owner)
    fn = bench_hooks._callable(kind, owner)
    opened = bench_hooks.budget.start(1e9) if "budget open" in variant else None
    bench_hooks.LOOPS[kind](calls, fn)
    if opened is not None:
        bench_hooks.budget.stop()


def count(kind, variant, calls):
    """Instructions the child executes in all."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
           os.path.abspath(__file__), "--child", kind, variant, str(calls)]
    env = dict(os.environ, PYTHONHASHSEED="0")  # the same dict layouts in every child
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env)
    found = re.search(r"refs:\s*([\d,]+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        raise RuntimeError("callgrind failed for %s / %s:\n%s" % (kind, variant, proc.stderr[-2000:]))
    return int(found.group(1).replace(",", ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="function,raises", help="comma-separated: " + ", ".join(
        bench_hooks.KINDS))
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1], int(args.child[2]))
    print("Python %s, instructions per call (callgrind, %d calls minus none)" % (
        sys.version.split()[0], args.calls))
    print("%-10s %-34s %10s %10s" % ("target", "row", "instr", "added"))
    for kind in [k for k in args.kinds.split(",") if k]:
        bare = None
        for variant, _ in bench_hooks.VARIANTS:
            reason = bench_hooks.unavailable(variant, kind)
            if reason is not None:
                print("%-10s %-34s skipped: %s" % (kind, variant, reason))
                continue
            per_call = (count(kind, variant, args.calls) - count(kind, variant, 0)) // args.calls
            bare = per_call if variant == "bare" else bare
            print("%-10s %-34s %10d %+10d" % (kind, variant, per_call, per_call - bare))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
