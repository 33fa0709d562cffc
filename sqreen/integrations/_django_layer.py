"""The agent's place in a Django handler's middleware chain: first, before the project's middleware.

What a middleware listed first in ``MIDDLEWARE`` would be, put there
without editing the project's settings:

* the outermost layer of ``_middleware_chain``: a ``RequestBlocked``
  raised anywhere below (a view, a middleware, a template) becomes the 403
  page as an ordinary Django response, so Django's own end of request
  still runs (``request_finished``, connections closed); the view's
  ``ATOMIC_REQUESTS`` transaction has been rolled back on the way up.
  Django turns only ``Exception`` into 500 pages, and ``RequestBlocked`` is
  a ``BaseException``;
* the first ``process_view``: the resolver's match gives the request's
  route and path parameters (part of its inputs, read from the match when
  first needed) before any other view middleware and the view run;
* with old-style ``MIDDLEWARE_CLASSES`` (Django 1.11), the last
  ``process_response``: the 403 reaches the client as the agent built it,
  whatever the project's response middleware did to it.
"""
from __future__ import absolute_import

import functools
import sys
import threading
import uuid

import six

from sqreen import _blocking, _log, _request
from sqreen.instrumentation import RequestBlocked

_MARK = "__sqreen_django__"
_lock = threading.Lock()
_BLOCKED_ATTR = "_sqreen_blocked_event"
_SCALARS = six.string_types + six.integer_types + (float,)


def ensure(handler):
    """Put the agent's layer in front of ``handler``'s loaded chain, once. Never raises."""
    chain = getattr(handler, "_middleware_chain", None)
    if chain is None or getattr(chain, _MARK, False):
        return
    try:
        with _lock:
            if not getattr(handler._middleware_chain, _MARK, False):
                install(handler)
    except Exception:
        _log.log_once("django:layer", "sqreen: cannot join Django's middleware chain; routes are not "
                      "recorded and blocks inside views are answered by the WSGI middleware",
                      exc_info=True)


def install(handler):
    """Wrap the loaded chain and register the agent's view (and legacy response) middleware."""
    view_middleware = handler._view_middleware
    handler._middleware_chain = Layer(handler._middleware_chain)
    view_middleware.insert(0, process_view)
    legacy = getattr(handler, "_response_middleware", None)
    if legacy:  # filled for MIDDLEWARE_CLASSES only; the last in the list runs last
        legacy.append(process_response)


class Layer(object):
    """The outermost layer of the chain: a block below it is answered with the 403 page."""

    __sqreen_django__ = True

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except RequestBlocked:
            exc_info = sys.exc_info()
        try:
            event_id = _blocking.event_id_of(exc_info[1])
            response = blocked_response(request, event_id)
            setattr(request, _BLOCKED_ATTR, event_id)
            return response
        except Exception:
            _log.log_once("django:blocked-response", "sqreen: cannot build Django's 403 response; the WSGI "
                          "middleware answers instead", exc_info=True)
            six.reraise(*exc_info)  # the generic middleware turns it into the 403 page
        finally:
            del exc_info


def blocked_response(request, event_id):
    """The 403 page for ``event_id`` as a Django response, shaped by the request's ``Accept``."""
    from django.http import HttpResponse

    status, headers, body = _blocking.response(event_id, request.META.get("HTTP_ACCEPT"))
    response = HttpResponse(body, status=int(status.split()[0]))
    for name, value in headers:
        response[name] = value
    return response


def process_response(request, response):
    """Old-style middleware: a blocked request leaves with the agent's 403, untouched."""
    if hasattr(request, _BLOCKED_ATTR):
        try:
            return blocked_response(request, getattr(request, _BLOCKED_ATTR))
        except Exception:
            _log.log_once("django:blocked-legacy", "sqreen: cannot rebuild Django's 403 response",
                          exc_info=True)
    return response


def process_view(request, view_func, view_args, view_kwargs):
    """Note the resolver's match on the agent's request: its route and path parameters are read from
    it when first needed (most requests of most apps never ask)."""
    try:
        current = _request.current()
        if current is not None and current.environ is request.environ:
            match = getattr(request, "resolver_match", None)
            current.defer_route(functools.partial(read_route, match, view_args, view_kwargs))
    except Exception:
        _log.log_once("django:route", "sqreen: cannot read Django's resolved route", exc_info=True)
    return None


def read_route(match, args, kwargs, request):
    """``(route, path parameters)`` of a resolver match, for ``Request.route_reader``. Never raises."""
    try:
        return route_of(match), path_params(match, args, kwargs)
    except Exception:
        _log.log_once("django:route", "sqreen: cannot read Django's resolved route", exc_info=True)
        return None, None


def route_of(match):
    """The matched pattern (Django 2.2+), else the view's name (``namespace:name``), else None."""
    if match is None:
        return None
    return getattr(match, "route", None) or match.view_name or None


def path_params(match, args, kwargs):
    """``{name: value}`` of the values captured from the path; positional ones named by index.

    Django 4.1+ tells captured values from the extra options a URL pattern
    passes to its view; before, every keyword the view gets is kept.
    """
    captured = getattr(match, "captured_kwargs", None)
    params = {}
    for index, value in enumerate(args or ()):
        params[str(index)] = value
    params.update(kwargs if captured is None else captured)
    return dict((name, _text(value)) for name, value in params.items() if _text(value) is not None)


def _text(value):
    if isinstance(value, _SCALARS) and not isinstance(value, bool):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    return None
