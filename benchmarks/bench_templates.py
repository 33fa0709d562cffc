"""Render time of a page with 50 variables, Jinja2 and Django, with and without the XSS check.

Run (pyperf, Jinja2 and Django installed)::

    python benchmarks/bench_templates.py --fast
    python benchmarks/bench_templates.py --interleaved   # one process, A/B rounds, medians

Rows per engine: the render uninstrumented (no hook, no request) and
instrumented (the template integrations patched, inside a request with 12
inputs, three of them echoed on the page escaped and one of those carrying
a quote, so that the check runs its substring search). The table gives
microseconds of the thread's CPU time per render (robust on a busy
machine) and the instrumented / uninstrumented ratio, both measured in
the same run. The last column is the XSS check of the rendered page
alone (what the render hook's callback does), timed in the same run.
"""
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pyperf  # noqa: E402

#: This thread's CPU time: a busy machine's preemptions do not count (wall time where it is missing).
clock = getattr(time, "thread_time", time.perf_counter)

QUERY = "q=O%27Brien+%26+sons&page=2&sort=name&lang=en&utm_source=mail&utm_medium=link&ref=home"
ENVIRON = {
    "REQUEST_METHOD": "GET", "PATH_INFO": "/search", "QUERY_STRING": QUERY,
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.5", "HTTP_COOKIE": "session=abc123; theme=dark",
    "REMOTE_ADDR": "127.0.0.1",
}
ROWS = "".join('<tr><td>{{ v%d }}</td><td><a href="/item/{{ v%d }}">open</a></td></tr>\n' % (i, i)
               for i in range(47))
PAGE = ("<!doctype html><html><head><title>{{ q }} - results</title></head><body>\n"
        '<form action="/search"><input name="q" value="{{ q }}">'
        '<input name="sort" value="{{ sort }}"></form>\n'
        "<p>Page {{ page }} of results for {{ q }}</p><table>\n" + ROWS + "</table></body></html>\n")
#: 50 variables: 47 items, the search, the sort order and the page number.
CONTEXT = dict(("v%d" % i, "item-%d" % i) for i in range(47))
CONTEXT.update(q="O'Brien & sons", sort="name", page=2)


def _jinja2():
    import jinja2

    template = jinja2.Environment(autoescape=True).from_string(PAGE)
    return lambda: template.render(CONTEXT)


def _django():
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=False, USE_TZ=False)
        django.setup()
    from django.template import Context, Engine

    template = Engine(autoescape=True).from_string(PAGE)
    return lambda: template.render(Context(CONTEXT))


ENGINES = {"jinja2": _jinja2, "django": _django}


def _instrument(engine, on):
    """Patch (or unpatch) the engine's integration and make a request current (or none)."""
    from sqreen import _request

    if engine == "jinja2":
        import jinja2

        from sqreen.integrations import jinja2 as integration

        module = jinja2
    else:
        import django.template.base

        from sqreen.integrations import django_templates as integration

        module = django.template.base
    if on:
        integration.patch(module)
        _request.activate(_request.Request(dict(ENVIRON)))
    else:
        integration.unpatch()
        _request.deactivate()


def time_render(loops, engine, on):
    render = ENGINES[engine]()
    _instrument(engine, on)
    assert "O&#39;Brien" in render() or "O&#x27;Brien" in render()
    start = clock()
    for _ in range(loops):
        render()
    return clock() - start


def time_check(loops, engine):
    from sqreen.integrations import _template_xss

    page = ENGINES[engine]()()
    _instrument(engine, True)
    literals = list
    start = clock()
    for _ in range(loops):
        _template_xss.check_page(page, literals)
    return clock() - start


def interleaved(rounds=40, loops=200):
    """Both variants in one process, alternating in rounds: medians and ratio (robust on a busy machine)."""
    print("%-8s %18s %16s %8s" % ("engine", "uninstrumented us", "instrumented us", "ratio"))
    for engine in sorted(ENGINES):
        times = {False: [], True: []}
        for number in range(rounds):
            for on in ((False, True) if number % 2 else (True, False)):
                times[on].append(time_render(loops, engine, on) / loops * 1e6)
        off, on = (sorted(times[key])[rounds // 2] for key in (False, True))
        print("%-8s %18.1f %16.1f %8.3f" % (engine, off, on, on / off))
    _instrument("jinja2", False)


def main():
    if "--interleaved" in sys.argv:
        return interleaved()
    runner = pyperf.Runner()
    rows = []
    for engine in sorted(ENGINES):
        results = []
        for on in (False, True):
            name = "%s render, %s" % (engine, "instrumented" if on else "uninstrumented")
            results.append(runner.bench_time_func(name, time_render, engine, on))
        results.append(runner.bench_time_func("%s page check" % engine, time_check, engine))
        rows.append((engine, results))
    if not runner.args.worker:
        header = ("engine", "uninstrumented us", "instrumented us", "ratio", "check only us")
        print("\n%-8s %18s %16s %8s %15s" % header)
        for engine, (off, on, check) in rows:
            if None not in (off, on, check):
                print("%-8s %18.1f %16.1f %8.3f %15.2f" % (
                    engine, off.mean() * 1e6, on.mean() * 1e6, on.mean() / off.mean(), check.mean() * 1e6))


if __name__ == "__main__":
    main()
