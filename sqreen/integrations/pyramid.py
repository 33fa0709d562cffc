"""Pyramid: the agent's request handling over the router and every tween, the matched route in the inputs.

``Router.__call__`` (the WSGI entry of every Pyramid app) gets the generic
WSGI middleware around it, so the agent runs before the execution policy
and the whole tween chain, excview included; ``RequestBlocked`` is a
``BaseException``, which no tween nor exception view catches, and the
middleware turns it into the 403 page. When the router's routes mapper
matches a route, its pattern (``/items/{id}``) and ``matchdict`` are noted
on the request (a sub-request's routes are not), so route parameters are
part of its inputs.
"""
from __future__ import absolute_import

import threading
import weakref

from sqreen.instrumentation import hook
from sqreen.integrations._flask_entry import set_route, wrap_entry

_mapper_hooks = weakref.WeakKeyDictionary()  # routes mapper class -> its hook handle
_lock = threading.Lock()


def patch(module):
    """Patch the ``pyramid.router`` module's ``Router`` class (once per class: reloading is harmless)."""
    wrap_entry(module.Router, before=_watch_routes)


def _watch_routes(router):
    """Hook the class of ``router``'s routes mapper, the first time it is seen."""
    mapper = router.routes_mapper
    if mapper is None:
        return
    cls = type(mapper)
    if cls in _mapper_hooks:
        return
    with _lock:
        if cls not in _mapper_hooks:
            _mapper_hooks[cls] = hook((cls, "__call__"), post=_note_route)


def _note_route(instance, args, kwargs, result):
    route = result.get("route") if isinstance(result, dict) else None
    if route is not None and args:
        set_route(getattr(route, "pattern", None), result.get("match"), getattr(args[0], "environ", None))
