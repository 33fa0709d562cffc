"""Cost of one shell injection, path traversal and SSRF check with 10 request inputs.

Run (pyperf installed in the interpreter's environment)::

    python benchmarks/bench_shell_path_ssrf.py --fast

Rows per protection: "miss" (no input occurs in the call's text: the
common case, goal under 5 microseconds) and "hit" (one input occurs and
is an attack: the lexer or parser runs). SSRF names go through a fake
resolver (a dict look-up): nothing is resolved. The table at the end gives
the mean microseconds per check.
"""
import os
import socket
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pyperf  # noqa: E402

from sqreen.protections._path_traversal import check_path  # noqa: E402
from sqreen.protections._shell_injection import check_command  # noqa: E402
from sqreen.protections._ssrf import check_url  # noqa: E402

OTHER_INPUTS = [
    ("query", "page", "2"), ("query", "sort", "created_at"), ("query", "q", "blue shoes"),
    ("form", "comment", "Looks great, thanks for the quick delivery!"), ("cookie", "session", "3f9a0c2e7d"),
    ("header", "user-agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"), ("header", "accept", "*/*"),
    ("header", "accept-language", "en-US,en;q=0.5"), ("json", "user.id", "12345"),
]


def _inputs(value):
    return [("query", "target", value)] + OTHER_INPUTS


def _resolve(host, port, *args):
    raise socket.gaierror(socket.EAI_NONAME, "benchmark resolver")


CASES = {
    ("shell", "miss"): (check_command, ("ping -c 1 8.8.4.4", _inputs("8.8.8.8; id")), {}),
    ("shell", "hit"): (check_command, ("ping -c 1 8.8.8.8; id", _inputs("8.8.8.8; id")), {}),
    ("path", "miss"): (check_path, ("/srv/app/uploads/report.pdf", _inputs("../../etc/passwd")), {}),
    ("path", "hit"): (check_path, ("/srv/app/uploads/../../etc/passwd", _inputs("../../etc/passwd")), {}),
    ("ssrf", "miss"): (check_url, ("https://api.example.com/v1/items?page=3", _inputs("http://127.0.0.1/")),
                       {"resolve": _resolve}),
    ("ssrf", "hit"): (check_url, ("http://0x7f.1/admin", _inputs("http://0x7f.1/admin")),
                      {"resolve": _resolve}),
}


def make_timer(case):
    func, args, kwargs = CASES[case]
    expect_hit = case[1] == "hit"

    def timer(loops):
        if (func(*args, **kwargs) is not None) != expect_hit:
            raise SystemExit("%s/%s: unexpected verdict" % case)
        clock = pyperf.perf_counter
        start = clock()
        for _ in range(loops):
            func(*args, **kwargs)
        return clock() - start

    return timer


def main():
    runner = pyperf.Runner()
    benches = [(case, runner.bench_time_func("%s / %s" % case, make_timer(case))) for case in sorted(CASES)]
    if not runner.args.worker:
        print()
        print("Python %s, microseconds per check (10 request inputs)" % sys.version.split()[0])
        print("%-8s %10s %10s" % ("check", "miss", "hit"))
        results = dict((case, bench.mean() * 1e6) for case, bench in benches if bench)
        for name in ("shell", "path", "ssrf"):
            if (name, "miss") in results and (name, "hit") in results:
                print("%-8s %10.2f %10.2f" % (name, results[(name, "miss")], results[(name, "hit")]))


if __name__ == "__main__":
    main()
