"""Flask: the agent's request handling first in every Flask app, and the matched route in the inputs.

``Flask.__call__`` gets the generic WSGI middleware around it, so the agent
comes before the app's ``wsgi_app`` (and any middleware the app put there,
ProxyFix included), before ``before_request`` functions and error
handlers. ``RequestBlocked`` is a ``BaseException``: Flask's
``handle_exception`` never sees it, the middleware turns it into the 403
page. Once Flask has matched the URL (``RequestContext.match_request``,
before the ``url_value_preprocessor`` and ``before_request`` functions
run), the rule (``/items/<int:id>``) and ``view_args`` are noted on the
request, so route parameters are part of its inputs. They are read from the
request context the hook is called on, not through Flask's ``request``
proxy: this runs on every request.
"""
from __future__ import absolute_import

import weakref

from sqreen.instrumentation import hook
from sqreen.integrations._flask_entry import set_route, wrap_entry

_route_hooks = weakref.WeakKeyDictionary()  # Flask class -> its hook handle


def patch(module):
    """Patch the ``flask`` package's ``Flask`` and ``RequestContext`` classes (once per class)."""
    wrap_entry(module.Flask)
    import flask.ctx

    cls = flask.ctx.RequestContext
    if cls not in _route_hooks:
        _route_hooks[cls] = hook((cls, "match_request"), post=_note_route)


def _note_route(instance, args, kwargs, result):
    request = instance.request
    rule = request.url_rule
    set_route(rule.rule if rule is not None else None, request.view_args)
