"""Cost of ``sqreen.protections._nosql_injection.check`` with 10 request inputs, beside pymongo's own work.

Run (pyperf and pymongo installed)::

    python benchmarks/bench_nosql.py --fast

Rows: a login filter with no operator in the request (miss) and with a
``{"$ne": null}`` from the JSON body (hit); a ``$where`` filter whose input
stays in its string literal, a name (no lexing needed) or a text with a
blank (the JavaScript lexer runs), and one whose input breaks out of it
(hit). The baseline, measured in the same run, is ``bson.encode`` of the
same filter: what pymongo spends on it for every
call before anything is sent. The table gives microseconds per call and
the ratio to that baseline. The request's operators are found once per
request (the integration keeps them): their cost is the last row.
"""
import functools
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import bson  # noqa: E402
import pyperf  # noqa: E402

from sqreen.protections._nosql_injection import check, request_operators  # noqa: E402

INPUTS = [("header", "h%d" % i, "value-%d" % i) for i in range(8)]
BREAKOUT = "x' || '1'=='1"
CASES = [
    # (label, filter, extra inputs, JSON body, an injection?)
    ("login filter, miss", {"username": "alice", "password": "wonderland"},
     [("json", "username", "alice"), ("json", "password", "wonderland")],
     {"username": "alice", "password": "wonderland"}, False),
    ("login filter, hit", {"username": "alice", "password": {"$ne": None}},
     [("json", "username", "alice"), ("header", "accept", "*/*")],
     {"username": "alice", "password": {"$ne": None}}, True),
    ("$where, name, miss", {"$where": "this.username == 'alice' && this.active"},
     [("query", "name", "alice"), ("query", "page", "2")], None, False),
    ("$where, text, miss", {"$where": "this.username == 'alice smith' && this.active"},
     [("query", "name", "alice smith"), ("query", "page", "2")], None, False),
    ("$where, hit", {"$where": "this.username == '%s' && this.active" % BREAKOUT},
     [("query", "name", BREAKOUT), ("query", "page", "2")], None, True),
]


def main():
    runner = pyperf.Runner()
    rows = []
    for label, doc, extra, body, hit in CASES:
        inputs = INPUTS + extra
        operators = request_operators(inputs, body)  # once per request, kept by the integration
        assert len(inputs) == 10 and (check([doc], inputs, operators=operators) is not None) == hit
        base = runner.bench_func("bson.encode, " + label, bson.encode, doc)
        call = functools.partial(check, [doc], inputs, operators=operators)
        bench = runner.bench_func("check, " + label, call)
        rows.append((label, base, bench))
    ops = runner.bench_func("request_operators, login hit", request_operators, INPUTS + CASES[1][2],
                            CASES[1][3])
    rows.append(("request operators", None, ops))
    if not runner.args.worker:
        print("\n%-22s %14s %14s %8s" % ("case (10 inputs)", "check us", "bson.encode us", "ratio"))
        for label, base, bench in rows:
            if base is not None and bench is not None:
                us, base_us = bench.mean() * 1e6, base.mean() * 1e6
                print("%-22s %14.2f %14.2f %8.1f" % (label, us, base_us, us / base_us))
            elif bench is not None:
                print("%-22s %14.2f   (once per request)" % (label, bench.mean() * 1e6))


if __name__ == "__main__":
    main()
