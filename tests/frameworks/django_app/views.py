"""The test project's views: each one exercises one thing the agent must get right under Django."""
import json
import os

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse

from sqreen import _reporter, wsgi
from tests.frameworks.django_app.middleware import SEEN, STARTUP
from tests.web._server_app import AFTER, SWALLOWED, sensitive  # sensitive("attack") is blocked


def _json(data):
    return HttpResponse(json.dumps(data, sort_keys=True), content_type="application/json")


def ready(request):
    return _json({"pid": os.getpid()})


def hello(request, name):
    return HttpResponse("hello %s" % name, content_type="text/plain")


def ctx(request, *args, **kwargs):
    current = wsgi.current_request()
    return _json({"route": current.route, "path_params": current.path_params, "path": current.path,
                  "inputs": [list(item) for item in current.inputs()],
                  "same_environ": current.environ is request.environ})


def block(request):
    try:
        value = sensitive(request.GET.get("q", ""))
    except Exception as exc:  # the view's own handler: must not see a block
        SWALLOWED.append(repr(exc))
        value = "swallowed"
    response = HttpResponse("not blocked: %s" % value)
    response["X-App"] = "1"
    response.set_cookie("app", "1")
    return response


def write_then_block(request):
    """Writes a row in the request's transaction, then hits the protection: the row must not stay."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO note (text) VALUES (%s)", [request.GET["text"]])
    return HttpResponse("wrote: %s" % sensitive(request.GET.get("q", "")))


def notes(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM note ORDER BY text")
        return _json({"notes": [row[0] for row in cursor.fetchall()]})


def stream(request):
    count = int(request.GET.get("n", "3"))
    block_at = int(request.GET.get("block_at", "-1"))

    def chunks():
        for n in range(count):
            if n == block_at:
                sensitive("attack")
            current = wsgi.current_request()
            yield ("%d %s\n" % (n, current.route if current is not None else None)).encode()

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def error(request):
    raise ValueError("the view failed")


def state(request):
    _reporter.flush(10)
    return _json({"after": AFTER, "swallowed": SWALLOWED, "seen": SEEN, "startup": STARTUP,
                  "legacy_middleware": settings.MIDDLEWARE is None})
