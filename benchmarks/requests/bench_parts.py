"""What each part of the agent costs one request: instructions per request, in-process, parts taken away.

Run (the py311 dev venv has Flask and Django; valgrind from ``apt-get install -y valgrind``)::

    /root/.cache/sqreen-venvs/py311/bin/python benchmarks/requests/bench_parts.py
    ... bench_parts.py --app django --path /hello --variants off,on

The benchmark apps of ``bench_requests.py`` are called in this process
(no server, no socket: a gunicorn-shaped environ with only a ``Host``
header, as wrk sends), each variant in a fresh interpreter under
``valgrind --tool=callgrind``, twice (``--requests`` and three times as
many); the difference divided by the extra requests is the cost of one
request, start-up and warm-up excluded. Variants: ``off`` (no agent),
``on`` (monitor mode, every integration), and ``on`` without a part:
``no-sqlite3`` (the sqlite3 hooks undone), ``no-jinja2`` (the render hooks
undone), ``no-sql-check`` (the SQL injection check returns at once),
``no-xss`` (the render hook finds no markup-carrying input at once). A
part's cost is ``on`` minus ``on`` without it; the inputs of the request are
worked out by whichever check runs first, so ``no-sqlite3,no-jinja2``
also takes them away. Takes about a minute per variant.
"""
from __future__ import print_function

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
APPS = {"flask": ("app_flask", "app"), "django": ("app_django", "application")}
VARIANTS = "off,on,no-sqlite3,no-jinja2,no-sql-check,no-xss,no-sqlite3+no-jinja2"
WARMUP = 50


def environ(path):
    """What gunicorn hands the app for ``GET path`` with a ``Host`` header only."""
    return {"wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": False,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.input_terminated": True,
            "SERVER_SOFTWARE": "gunicorn", "wsgi.input": io.BytesIO(b""), "gunicorn.socket": None,
            "REQUEST_METHOD": "GET", "QUERY_STRING": "", "RAW_URI": path, "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000", "wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "51234", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "PATH_INFO": path,
            "SCRIPT_NAME": ""}


def _start_response(status, headers, exc_info=None):
    return lambda data: None


def take_away(parts):
    """Undo the named parts of the running agent (see the module's docstring)."""
    if "no-sqlite3" in parts:
        from sqreen.integrations import sqlite3 as integration

        integration.unpatch()
    if "no-jinja2" in parts:
        from sqreen.integrations import jinja2 as integration

        integration.unpatch()
    if "no-sql-check" in parts:
        from sqreen import _attack_report

        _attack_report.check_sql = lambda *args, **kwargs: None
    if "no-xss" in parts:
        from sqreen.integrations import _template_xss

        _template_xss.markup_now = lambda: None


def serve_requests(args):
    """The child: set up the app (agent or not), warm it up, then serve ``args.requests`` requests."""
    sys.path.insert(0, HERE)
    tmp = tempfile.mkdtemp()
    os.environ["BENCH_DB"] = os.path.join(tmp, "bench.sqlite3")
    import _db

    _db.create(os.environ["BENCH_DB"])
    if args.variant != "off":
        sys.path.insert(0, ROOT)
        os.environ.update(SQREEN_MODE="monitor", SQREEN_EVENTS_FILE=os.path.join(tmp, "events.jsonl"),
                          SQREEN_METRICS_INTERVAL="86400")
        import sqreen

        if not sqreen.start():
            raise SystemExit("the agent did not start")
    module, attribute = APPS[args.app]
    app = getattr(__import__(module), attribute)
    if args.variant not in ("off", "on"):
        take_away(args.variant.split("+"))

    def one():
        result = app(environ(args.path), _start_response)
        for _ in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()

    for _ in range(WARMUP):
        one()
    for _ in range(args.requests):
        one()


def instructions(args, variant, requests):
    out = os.path.join(tempfile.gettempdir(), "bench_parts.%d.cg" % os.getpid())
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, sys.executable, __file__, "--child",
           "--app", args.app, "--path", args.path, "--variant", variant, "--requests", str(requests)]
    env = dict(os.environ, PYTHONHASHSEED="0")
    try:
        subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, check=True)
        with open(out) as f:
            for line in f:
                found = re.match(r"(?:summary|totals):\s*(\d+)", line)
                if found:
                    return int(found.group(1))
    finally:
        if os.path.exists(out):
            os.remove(out)
    raise SystemExit("no total in the callgrind output of %s" % variant)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--app", choices=sorted(APPS), default="flask")
    parser.add_argument("--path", default="/query")
    parser.add_argument("--variants", default=VARIANTS)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="on", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        serve_requests(args)
        return 0
    sys.path.insert(0, HERE)
    from _build import build_inplace

    build_inplace()
    rows = []
    for variant in args.variants.split(","):
        # A first run compiles what the edits left uncompiled: both measured runs then load the same .pyc.
        subprocess.run([sys.executable, __file__, "--child", "--app", args.app, "--path", args.path,
                        "--variant", variant, "--requests", "1"], stdout=subprocess.PIPE, check=True)
        few = instructions(args, variant, args.requests)
        many = instructions(args, variant, 3 * args.requests)
        rows.append((variant, (many - few) / (2.0 * args.requests)))
        print("%-24s %10.0f instructions per request" % rows[-1], file=sys.stderr)
    print("\n%s %s, in-process, Python %s" % (args.app, args.path, sys.version.split()[0]))
    on = dict(rows).get("on")
    for variant, cost in rows:
        part = "" if on is None or variant in ("off", "on") else "  part: %+.0f" % (on - cost)
        print("%-24s %10.0f%s" % (variant, cost, part))
    return 0


if __name__ == "__main__":
    sys.exit(main())
