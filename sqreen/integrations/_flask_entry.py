"""What a WSGI framework's integration needs from the agent: its entry wrapped, its route noted.

Shared by the Flask and Pyramid integrations (other WSGI frameworks can use
it too). The framework's WSGI entry method gets the generic middleware of
``sqreen.wsgi`` around it, so the request object, the IP lists, the 403
page and the end of the request are the middleware's own, and the agent's
handling comes before anything the framework or the app runs.
"""
import functools

from sqreen import _log, _request
from sqreen.wsgi import serve

_MARK = "__sqreen_entry__"


def is_wrapped(cls, name="__call__"):
    """True when ``cls`` itself defines ``name`` as the agent's entry."""
    return getattr(cls.__dict__.get(name), _MARK, False)


def wrap_entry(cls, name="__call__", before=None, route_reader=None):
    """Put the agent's request handling around ``cls.<name>(self, environ, start_response)``.

    Once per class: False when ``cls`` already has it. ``before(self)``,
    when given, runs first on every call; an error in it is logged once
    and the request goes on. ``route_reader``: see ``Request.route_reader``.
    """
    if is_wrapped(cls, name):
        return False
    original = getattr(cls, name)
    original = getattr(original, "__func__", original)  # an unbound method on Python 2

    @functools.wraps(original)
    def entry(self, environ, start_response):
        if before is not None:
            try:
                before(self)
            except Exception:
                _log.log_once("integration-entry:" + cls.__name__,
                              "sqreen: cannot prepare %s for a request", cls.__name__, exc_info=True)
        return serve(functools.partial(original, self), environ, start_response, route_reader)

    setattr(entry, _MARK, True)
    entry.__wrapped__ = original
    setattr(cls, name, entry)
    return True


def set_route(route, params, environ=None):
    """Note the matched route and its parameters on the current request (the one of ``environ``).

    With ``environ``, only when the current request is the one served for
    it (not a sub-request's). Never raises.
    """
    try:
        request = _request.current()
        if request is None or (environ is not None and request.environ is not environ):
            return
        request.set_route(route, params if params is not None else {})
    except Exception:
        _log.log_once("integration-route", "sqreen: cannot note the matched route", exc_info=True)
