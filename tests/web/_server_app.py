"""A plain WSGI app behind ``sqreen.wsgi.middleware``, for the tests with real servers.

Imported by the server process (gunicorn imports ``application``; the other
servers run ``python -m tests.web._server_app SERVER PORT``). It starts the
agent, hooks :func:`sensitive` with a protection that blocks the value
``"attack"``, and puts a recorder outside the middleware that notes, once
the server has closed each response, whether a request was still current.
"""
import hashlib
import json
import os
import sys
import threading

import sqreen
from sqreen import _blocking, _events, _reporter, wsgi
from sqreen.instrumentation import hook

AFTER = []  # [path, request still current after close]
SWALLOWED = []  # exceptions the app's own `except Exception` caught
_arrivals = {"n": 0}
_arrived = threading.Condition()


def sensitive(value):
    """Stands for a sensitive call (SQL, shell...)."""
    return value


def _protection(instance, args, kwargs):
    if args and args[0] == "attack":
        request = wsgi.current_request()
        _blocking.raise_blocked(_events.attack_event(
            "sqli", request=request.event_dict() if request else None, rule="test", blocked=True,
            source="query", name="q", value=args[0]))


def _json(start_response, data, status="200 OK"):
    body = json.dumps(data, sort_keys=True).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _read_body(environ):
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return stream.read(int(length))
    if environ.get("wsgi.input_terminated") or environ.get("HTTP_TRANSFER_ENCODING"):
        return stream.read()
    return b""


def ctx(environ, start_response):
    request = wsgi.current_request()
    agent_first = "agent_first" in environ.get("QUERY_STRING", "")
    if agent_first:
        inputs = request.inputs()
    app_body = _read_body(environ)
    if not agent_first:
        inputs = request.inputs()
    return _json(start_response, {
        "method": request.method, "path": request.path, "scheme": request.scheme, "host": request.host,
        "client_ip": request.client_ip, "query": request.query, "form": request.form,
        "files": request.files, "json": request.json, "inputs": [list(item) for item in inputs],
        "agent_body_read": request.body is not None,
        "app_body_sha": hashlib.sha256(app_body).hexdigest(), "app_body_len": len(app_body),
    })


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    count = int(environ.get("QUERY_STRING", "n=3").partition("=")[2] or 3)

    def chunks():
        for n in range(count):
            request = wsgi.current_request()
            yield ("%d %s\n" % (n, request.path if request is not None else None)).encode()

    return chunks()


def stream_big(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    chunk = b"x" * 65536

    def chunks():
        for _ in range(1000):  # 64 MB at most: far more than the socket buffers hold
            yield chunk

    return chunks()


def error(environ, start_response):
    raise ValueError("the app failed")


def error_stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])

    def chunks():
        yield b"first\n"
        raise ValueError("the app failed mid-stream")

    return chunks()


def block(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-App", "1")])
    try:
        value = sensitive("attack")
    except Exception as exc:  # the app's own handler: must not see a block
        SWALLOWED.append(repr(exc))
        value = "swallowed"
    return [("not blocked: %s" % value).encode()]


def block_late(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "20")])

    def chunks():
        yield b"0123456789"
        yield sensitive("attack").encode()

    return chunks()


def slow(environ, start_response):
    """Waits (bounded) until ``n`` requests are inside, then answers with its own request's query."""
    request = wsgi.current_request()
    wanted = int(request.query["n"][0])
    with _arrived:
        _arrivals["n"] += 1
        _arrived.notify_all()
        for _ in range(300):  # 30 s at most
            if _arrivals["n"] >= wanted:
                break
            _arrived.wait(0.1)
    mine = wsgi.current_request()
    return _json(start_response, {"id": mine.query["id"][0], "same": mine is request,
                                  "all_arrived": _arrivals["n"] >= wanted})


def state(environ, start_response):
    _reporter.flush(10)
    return _json(start_response, {"after": AFTER, "swallowed": SWALLOWED})


ROUTES = {
    "/ctx": ctx, "/stream": stream, "/stream-big": stream_big, "/error": error,
    "/error-stream": error_stream, "/block": block, "/block-late": block_late, "/slow": slow,
    "/state": state, "/ready": lambda environ, start_response: _json(start_response, {"pid": os.getpid()}),
}


def plain_app(environ, start_response):
    return ROUTES[environ["PATH_INFO"]](environ, start_response)


class _Recorded(object):
    def __init__(self, result, path):
        self.result = result
        self.path = path

    def __iter__(self):
        return iter(self.result)

    def close(self):
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            AFTER.append([self.path, wsgi.current_request() is not None])


def recorder(app):
    def recording(environ, start_response):
        path = environ["PATH_INFO"]
        try:
            result = app(environ, start_response)
        except BaseException:
            AFTER.append([path, wsgi.current_request() is not None])
            raise
        return _Recorded(result, path)

    return recording


sqreen.start()
hook((sys.modules[__name__], "sensitive"), pre=_protection)
application = recorder(wsgi.middleware(plain_app))


def _serve_wsgiref(port):
    from sqreen._demo_app import serve  # the demo's quiet, threaded wsgiref server

    serve(application, port)


def _serve_waitress(port):
    import waitress

    # By default waitress drops the X-Forwarded-* headers of a peer it does not trust as a proxy;
    # keep them so that the agent resolves the client address, as with the other servers.
    waitress.serve(application, host="127.0.0.1", port=port, threads=8, _quiet=True,
                   clear_untrusted_proxy_headers=False)


if __name__ == "__main__":
    {"wsgiref": _serve_wsgiref, "waitress": _serve_waitress}[sys.argv[1]](int(sys.argv[2]))
