"""Cost of the SSRF hooks on the HTTP clients: a GET to a loopback server, bare and hooked.

Run (pyperf installed in the interpreter's environment)::

    python benchmarks/bench_ssrf_sinks.py --fast
    python benchmarks/bench_ssrf_sinks.py --interleaved   # one process, rounds alternating the cases, medians

Rows for ``requests.get`` and ``urlopen`` (each call a new connection to
a small HTTP server on 127.0.0.1 in the same process, as a fresh
``requests.get`` makes):

* ``bare``: the clients unpatched (the baseline);
* ``hooked, no request``: patched by ``sqreen.integrations`` (requests,
  urllib3, urllib.request, http.client), no request current;
* ``hooked, request miss``: a request with 10 inputs is current and none
  of them occurs in the URL (goal: under 5 microseconds added).

The ``callback`` rows time what a hook adds alone, with no I/O:
``_ssrf_fetch.enter`` and ``leave`` for one URL, outside a request and in
one with 10 inputs (miss); the ``requests hooks`` rows, the three hooks one
``requests.get`` goes through (``Session.request``, ``Session.send``,
urllib3's ``_new_conn`` with the peer of a connected socket), nested around
no-op calls. The table at the end gives microseconds per
call and what each row adds to its baseline, all measured in the same run.
"""
import os
import socket
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pyperf  # noqa: E402
import requests  # noqa: E402
import urllib3  # noqa: E402
from six.moves import BaseHTTPServer, http_client  # noqa: E402
from six.moves.urllib import request as urllib_request  # noqa: E402

from sqreen import _request  # noqa: E402
from sqreen.integrations import _ssrf_fetch  # noqa: E402
from sqreen.integrations import http_client as hook_http_client  # noqa: E402
from sqreen.integrations import requests as hook_requests  # noqa: E402
from sqreen.integrations import urllib3 as hook_urllib3  # noqa: E402
from sqreen.integrations import urllib_request as hook_urllib  # noqa: E402

QUERY = ("page=2&sort=created_at&q=blue+shoes&comment=Looks+great%2C+thanks&session=3f9a0c2e7d"
         "&lang=en-US&ref=newsletter&id=12345&color=navy&target=http%3A%2F%2Fexample.org%2Ffeed")
HOOKS = ((hook_requests, requests), (hook_urllib3, urllib3), (hook_urllib, urllib_request),
         (hook_http_client, http_client))


class _Handler(BaseHTTPServer.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class _Server(BaseHTTPServer.HTTPServer):
    def server_bind(self):  # no getfqdn(): no name look-up
        BaseHTTPServer.socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def _serve():
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()
    return "http://127.0.0.1:%d/items?page=2" % server.server_address[1]


def _requests_get(url):
    return requests.get(url).content


def _urlopen(url):
    return urllib_request.urlopen(url).read()


def _callback(url):
    _ssrf_fetch.leave(_ssrf_fetch.enter(url, "bench"))


class _Prepared(object):
    url = None


class _Connection(object):
    host, port, default_port = "127.0.0.1", 8080, 80


_SOCKET = []


def _requests_hooks(url):
    """The callbacks one ``requests.get`` runs, around no-op calls: request, send, and the socket's peer."""
    (_, _, request), (_, _, send) = hook_requests.hooks(requests)
    connection = hook_urllib3.hooks(urllib3)[1][2]
    prepared = _Prepared()
    prepared.url = url
    if not _SOCKET:  # a connected socket whose peer is looked at: to a listener that never accepts
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        _SOCKET.extend([socket.create_connection(listener.getsockname()), listener])
    sock = _SOCKET[0]

    def new_conn():
        return sock

    def sent(*args, **kwargs):
        return connection.call(new_conn, _Connection(), (), {})

    def requested(*args, **kwargs):
        return send.call(sent, None, (prepared,), {})

    def chain(url):
        return request.call(requested, None, ("GET", url), {})

    return chain


CALLS = {"requests.get": _requests_get, "urlopen": _urlopen, "callback": _callback}
CASES = [(call, case) for call in ("requests.get", "urlopen")
         for case in ("bare", "hooked, no request", "hooked, request miss")]
CASES += [("callback", "no request"), ("callback", "request miss"),
          ("requests hooks", "no request"), ("requests hooks", "request miss")]


_URL = []


def _setup(call, case):
    """Patch (or not) and make the request current (or not) for ``case``; return the URL to fetch."""
    for hook, module in HOOKS:
        if case == "bare":
            hook.unpatch()
        else:
            hook.patch(module)
    if not _URL:
        _URL.append(_serve())
    _request.deactivate()
    if case.endswith("request miss"):
        _request.activate(_request.Request({"REQUEST_METHOD": "GET", "PATH_INFO": "/fetch",
                                            "QUERY_STRING": QUERY}))
        assert len(_request.current().inputs()) == 10
    return _URL[0] if call in ("requests.get", "urlopen") else "http://127.0.0.1:8080/items?page=2"


def time_calls(loops, call, case):
    """Seconds for ``loops`` calls of ``call`` in ``case``."""
    url = _setup(call, case)
    function = _requests_hooks(url) if call == "requests hooks" else CALLS[call]
    try:
        if call in ("requests.get", "urlopen") and function(url) != b"ok":
            raise SystemExit("%s / %s: unexpected answer" % (call, case))
        clock = pyperf.perf_counter
        start = clock()
        for _ in range(loops):
            function(url)
        return clock() - start
    finally:
        _request.deactivate()


def _row(call, case, mean, base):
    added, ratio = (mean - base, mean / base) if base else (float("nan"), float("nan"))
    print("%-14s %-22s %10.2f %10.2f %8.3f" % (call, case, mean, added, ratio))


def _baseline(call):
    return (call, "bare" if call in ("requests.get", "urlopen") else "no request")


def interleaved(rounds=30, loops=100):
    """Every case in one process, alternating in rounds: medians (robust on a busy machine)."""
    times = dict((key, []) for key in CASES)
    for number in range(rounds):
        for key in (CASES if number % 2 else CASES[::-1]):
            calls = loops if key[0] in ("requests.get", "urlopen") else loops * 100
            times[key].append(time_calls(calls, *key) / calls * 1e6)
    medians = dict((key, sorted(values)[rounds // 2]) for key, values in times.items())
    _header("median of %d interleaved rounds" % rounds)
    for key in CASES:
        _row(key[0], key[1], medians[key], medians[_baseline(key[0])])


def _header(how):
    print()
    print("Python %s, microseconds per call (10 request inputs, none in the URL), %s"
          % (sys.version.split()[0], how))
    print("%-14s %-22s %10s %10s %8s" % ("call", "case", "mean", "added", "ratio"))


def main():
    if "--interleaved" in sys.argv:
        return interleaved()
    runner = pyperf.Runner()
    benches = []
    for call, case in CASES:
        name = "%s / %s" % (call, case)
        benches.append(((call, case), runner.bench_time_func(name, time_calls, call, case)))
    if runner.args.worker:
        return
    results = dict((key, bench.mean() * 1e6) for key, bench in benches if bench)
    _header("pyperf means")
    for key in CASES:
        if key in results:
            _row(key[0], key[1], results[key], results.get(_baseline(key[0])))


if __name__ == "__main__":
    main()
