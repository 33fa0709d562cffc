"""Cost of ``sqreen.protections._sql_injection.check`` with 10 request inputs.

Run (pyperf installed)::

    python benchmarks/bench_sql.py --fast

Rows: a 100-byte and a 10 KB query (the 10 KB one has 200 string literals
and 200 numbers), with no input occurring in it, and with one input
occurring as an injection near its end. The inputs are one tuple, as a
request hands them out for all its queries; the "first check" rows give a
new tuple each call (plus the ~0.03 us of making it): the first query of a
request, before its inputs are prepared for the next ones. The table gives
microseconds per call.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pyperf  # noqa: E402

from sqreen.protections._sql_injection import check  # noqa: E402

INPUTS = [("query", "p%d" % i, "value-%d" % i) for i in range(9)]
DIALECT = "postgresql"
ATTACK = "1 OR 1=1"
SMALL = "SELECT id, name, email FROM users WHERE id = %s AND active = 1 ORDER BY name LIMIT 10"
FILLER = "".join(" OR (name = 'user%03d' AND score > %d)" % (i, i) for i in range(200))
LARGE = "SELECT id, name FROM users WHERE (1 = 0" + FILLER + ") AND id = %s LIMIT 10"


def first_check(query, inputs):
    """check() with inputs never searched before, as on a request's first query."""
    return check(query, DIALECT, tuple(inputs))


def main():
    runner = pyperf.Runner()
    rows = []
    inputs = tuple(INPUTS + [("query", "id", ATTACK)])
    for label, template in (("100 B", SMALL), ("10 KB", LARGE)):
        for hit in (False, True):
            query = template % (ATTACK if hit else "42")
            assert (check(query, DIALECT, inputs) is not None) == hit
            name = "check %s query, %s" % (label, "hit" if hit else "no hit")
            rows.append((name, len(query), runner.bench_func(name, check, query, DIALECT, inputs)))
        query = template % "42"
        name = "first check %s query, no hit" % label
        rows.append((name, len(query), runner.bench_func(name, first_check, query, list(inputs))))
    if not runner.args.worker:
        print("\n%-38s %8s %12s" % ("case", "bytes", "us per call"))
        for name, size, bench in rows:
            if bench is not None:
                print("%-38s %8d %12.2f" % (name, size, bench.mean() * 1e6))


if __name__ == "__main__":
    main()
