"""Flask: the agent's request handling first in every Flask app, and the matched route in the inputs.

``Flask.__call__`` gets the generic WSGI middleware around it, so the agent
comes before the app's ``wsgi_app`` (and any middleware the app put there,
ProxyFix included), before ``before_request`` functions and error
handlers. ``RequestBlocked`` is a ``BaseException``: Flask's
``handle_exception`` never sees it, the middleware turns it into the 403
page. Once Flask has matched the URL (before the ``before_request``
functions run), the rule (``/items/<int:id>``) and ``view_args`` are noted
on the request, so route parameters are part of its inputs.
"""
from __future__ import absolute_import

import weakref

from sqreen.instrumentation import hook
from sqreen.integrations._flask_entry import set_route, wrap_entry

_route_hooks = weakref.WeakKeyDictionary()  # Flask class -> its hook handle


def patch(module):
    """Patch the ``flask`` package's ``Flask`` class (once per class: reloading is harmless)."""
    cls = module.Flask
    wrap_entry(cls)
    if cls not in _route_hooks:
        _route_hooks[cls] = hook((cls, "preprocess_request"), pre=_route_callback(module))


def _route_callback(module):
    def note_route(instance, args, kwargs):
        request = module.request
        rule = request.url_rule
        set_route(rule.rule if rule is not None else None, request.view_args)

    return note_route
