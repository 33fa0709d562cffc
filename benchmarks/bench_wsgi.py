"""Per-request cost of ``sqreen.wsgi.middleware`` around small WSGI apps, called in-process.

Run (pyperf installed in the interpreter's environment)::

    python benchmarks/bench_wsgi.py --fast              # every row, about a minute
    python benchmarks/bench_wsgi.py --fast --kinds hello

Each request is driven as a server does it: a fresh environ (a copy of a
template), the call, the iteration of the response, its ``close()``.
Kinds: ``hello`` (GET, the app returns a one-item list), ``stream`` (GET,
the app returns a generator of two chunks), ``post`` (a 64-byte
URL-encoded POST whose body the app reads). Rows: the bare app; the
middleware while the agent is not started; the middleware with the agent
started in monitor mode, no protection hit (the real ``sqreen.start()``,
events to a temporary file). The table at the end gives the mean
microseconds per request, the ratio to the bare app and the time added.

Loops are timed with the thread's CPU clock (``time.thread_time``, Python
3.7+) so that other work on a shared machine does not inflate the figures.
"""
import io
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pyperf  # noqa: E402

import sqreen  # noqa: E402
from sqreen import wsgi  # noqa: E402

KINDS = ["hello", "stream", "post"]
VARIANTS = ["bare", "middleware, agent stopped", "middleware, agent running"]
BODY = b"user=alice&comment=" + b"x" * 45

TEMPLATE = {
    "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/hello", "QUERY_STRING": "a=1",
    "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "HTTP_USER_AGENT": "bench",
    "HTTP_ACCEPT": "*/*", "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
    "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
}


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def chunks():
        yield b"hel"
        yield b"lo"

    return chunks()


def post(environ, start_response):
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body[:5]]


APPS = {"hello": hello, "stream": stream, "post": post}


def start_response(status, headers, exc_info=None):
    return None


POST = dict(TEMPLATE, REQUEST_METHOD="POST", CONTENT_TYPE="application/x-www-form-urlencoded",
            CONTENT_LENGTH=str(len(BODY)))


def loop(loops, app, template, body):
    """Serve ``loops`` requests; a new ``wsgi.input`` holding ``body`` for each when it is not None."""
    clock = _clock
    new_input = io.BytesIO
    start = clock()
    for _ in range(loops):
        environ = dict(template)
        if body is not None:
            environ["wsgi.input"] = new_input(body)
        result = app(environ, start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return clock() - start


_clock = getattr(time, "thread_time", time.perf_counter)


def _start_agent():
    """The real agent, monitor mode, events to a temporary file (once per worker process)."""
    if sqreen.start():
        return
    os.environ.update(SQREEN_FORCE_START="1", SQREEN_MODE="monitor",
                      SQREEN_EVENTS_FILE=os.path.join(tempfile.mkdtemp(), "events.jsonl"))
    if not sqreen.start():
        raise SystemExit("the agent did not start")


def make_timer(kind, variant):
    def timer(loops):
        app = APPS[kind]
        if variant != "bare":
            app = wsgi.middleware(app)
        if variant.endswith("running"):
            _start_agent()
        if kind == "post":
            return loop(loops, app, POST, BODY)
        return loop(loops, app, TEMPLATE, None)

    return timer


def main():
    runner = pyperf.Runner(add_cmdline_args=lambda cmd, args: cmd.extend(["--kinds", args.kinds]))
    runner.argparser.add_argument("--kinds", default=",".join(KINDS),
                                  help="comma-separated: " + ", ".join(KINDS))
    args = runner.parse_args()
    rows = [(kind, variant) for kind in args.kinds.split(",") if kind for variant in VARIANTS]
    benches = [(kind, variant, runner.bench_time_func("%s / %s" % (kind, variant), make_timer(kind, variant)))
               for kind, variant in rows]
    if not args.worker:
        print_table([(kind, variant, bench.mean() * 1e6) for kind, variant, bench in benches if bench])


def print_table(results):
    """One line per kind: microseconds per request for each row, and the middleware's ratios to bare."""
    by_kind = {}
    for kind, variant, us in results:
        by_kind.setdefault(kind, {})[variant] = us
    print()
    print("Python %s, microseconds per request" % sys.version.split()[0])
    print("%-8s %8s %8s %8s %14s %14s" % ("kind", "bare", "stopped", "running", "stopped/bare",
                                          "running/bare"))
    for kind in KINDS:
        row = by_kind.get(kind)
        if not row or len(row) != len(VARIANTS):
            continue
        bare, stopped, running = [row[variant] for variant in VARIANTS]
        print("%-8s %8.2f %8.2f %8.2f %14.2f %14.2f" % (kind, bare, stopped, running, stopped / bare,
                                                        running / bare))


if __name__ == "__main__":
    main()
