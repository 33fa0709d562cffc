"""The project's own middleware, listed first in its settings: notes what it sees of the agent.

On every request it records whether the agent's request was already
current when it ran, and the route it finds in ``process_view``; it marks
every response it handles with ``X-Project`` (a 403 from the agent must
not carry it).
"""
from sqreen import wsgi

SEEN = []  # [X-Request-Id, agent request current, route seen in process_view]
STARTUP = {}  # what the project's wsgi.py found at start-up


def _enter(request):
    SEEN.append([request.META.get("HTTP_X_REQUEST_ID"), wsgi.current_request() is not None, None])
    request.trace = SEEN[-1]


def _view(request):
    current = wsgi.current_request()
    request.trace[2] = current.route if current is not None else None


def _leave(response):
    response["X-Project"] = "1"
    return response


class Trace(object):
    """New-style middleware (``MIDDLEWARE``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _enter(request)
        return _leave(self.get_response(request))

    def process_view(self, request, view_func, view_args, view_kwargs):
        _view(request)


class LegacyTrace(object):
    """Old-style middleware (``MIDDLEWARE_CLASSES``, Django 1.11)."""

    def process_request(self, request):
        _enter(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        _view(request)

    def process_response(self, request, response):
        return _leave(response)
