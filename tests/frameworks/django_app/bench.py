"""Per-request cost of the agent on a small Django view, called in-process as a server does.

Run (pyperf installed in the interpreter's environment)::

    python -m tests.frameworks.django_app.bench --fast

Rows, each in its own worker processes: Django's ``get_wsgi_application()``
with the agent disabled (``SQREEN_DISABLE=1``: nothing of Django is
patched) and with the agent running in monitor mode (events to a temporary
file), for ``GET /hello/<name>/`` (a ``re_path`` with one named parameter,
a one-line text response, the test project's one middleware). The table at
the end gives microseconds per request and the time the agent adds:
request object, context, route and path parameters, the chain's layer. The
loops use the generic WSGI benchmark's driver (``benchmarks/bench_wsgi.py``).
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "benchmarks")]  # pyperf's workers run this file as a script

import bench_wsgi  # noqa: E402
import pyperf  # noqa: E402

VARIANTS = ["agent disabled", "agent running"]
TEMPLATE = dict(bench_wsgi.TEMPLATE, PATH_INFO="/hello/bob/", QUERY_STRING="")
_apps = {}


def _application(variant):
    """The project's Django application, built once per worker after the agent is (or is not) started."""
    if variant not in _apps:
        os.environ["DJANGO_SETTINGS_MODULE"] = "tests.frameworks.django_app.settings"
        if variant == "agent running":
            bench_wsgi._start_agent()
        else:
            os.environ["SQREEN_DISABLE"] = "1"  # the test project's views start the agent too
        from django.core.wsgi import get_wsgi_application

        _apps[variant] = get_wsgi_application()
    return _apps[variant]


def make_timer(variant):
    def timer(loops):
        app = _application(variant)
        return bench_wsgi.loop(loops, app, TEMPLATE, b"")  # Django reads wsgi.input

    return timer


def main():
    runner = pyperf.Runner()
    benches = [(variant, runner.bench_time_func("django hello / " + variant, make_timer(variant)))
               for variant in VARIANTS]
    if runner.args.worker:
        return
    results = dict((variant, bench.mean() * 1e6) for variant, bench in benches if bench)
    if len(results) == len(VARIANTS):
        off, on = results[VARIANTS[0]], results[VARIANTS[1]]
        print()
        print("Python %s, Django %s, microseconds per request" % (sys.version.split()[0], _django_version()))
        print("agent disabled %8.2f   agent running %8.2f   added %6.2f (x%.2f)"
              % (off, on, on - off, on / off))


def _django_version():
    import django

    return django.get_version()


if __name__ == "__main__":
    main()
