"""A small Pyramid app started under the agent, for the tests with real servers.

waitress runs it as ``python -m tests.frameworks.pyramid_app waitress PORT``.
The app changes nothing for the agent but ``sqreen.start()``. It has a tween
of its own (that notes whether the agent's request was already current) and
an exception view for ``Exception``, the way apps turn errors into their
own 500 page. ``/block`` reaches ``sensitive``, which
``tests.web._server_app`` hooks with a protection that blocks ``"attack"``.
"""
import os

import sqreen

sqreen.start()

from pyramid.config import Configurator  # noqa: E402  (imported after the agent started)
from pyramid.response import FileResponse, Response  # noqa: E402

from sqreen import _reporter, wsgi  # noqa: E402
from tests.frameworks.flask_app_serve import main  # noqa: E402
from tests.web._server_app import AFTER, recorder, sensitive  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEEN = {"tween": []}  # [path, the agent's request was current]
SWALLOWED = []


def app_tween_factory(handler, registry):
    def app_tween(request):
        SEEN["tween"].append([request.path, wsgi.current_request() is not None])
        return handler(request)

    return app_tween


def agent_view(request):
    """What the agent knows of the current request."""
    current = wsgi.current_request()
    return {"route": current.route, "path_params": current.path_params,
            "inputs": [list(item) for item in current.inputs()]}


def ready(request):
    return {"pid": os.getpid()}


def _fetch(value):
    return sensitive(value)


def block(request):
    try:
        value = _fetch(request.params.get("q", ""))
    except Exception as exc:  # the view's own handler: must not see a block
        SWALLOWED.append(repr(exc))
        value = "swallowed"
    return Response("not blocked: %s" % value, content_type="text/plain")


def error(request):
    raise ValueError("the view failed")


def error_view(exc, request):
    return Response("the app's own error page: %s" % type(exc).__name__, status=500,
                    content_type="text/plain")


def stream(request):
    def chunks():
        for n in range(3):
            current = wsgi.current_request()
            yield ("%d %s\n" % (n, current.route if current is not None else None)).encode()

    return Response(app_iter=chunks(), content_type="text/plain")


def send_file(request):
    return FileResponse(os.path.join(HERE, "flask_app_serve.py"), request, content_type="text/plain")


def state(request):
    _reporter.flush(10)
    return {"after": AFTER, "swallowed": SWALLOWED, "seen": SEEN}


def make_app():
    config = Configurator()
    config.add_tween(__name__ + ".app_tween_factory")  # by name, as Pyramid wants it
    for name, pattern, view, renderer in (
            ("ready", "/ready", ready, "json"), ("items", "/items/{item_id}/{name}", agent_view, "json"),
            ("block", "/block", block, None), ("error", "/error", error, None),
            ("stream", "/stream", stream, None), ("file", "/file", send_file, None),
            ("state", "/state", state, "json")):
        config.add_route(name, pattern)
        config.add_view(view, route_name=name, renderer=renderer)
    config.add_view(error_view, context=ValueError)
    return config.make_wsgi_app()


application = recorder(make_app())

if __name__ == "__main__":
    main(application)
