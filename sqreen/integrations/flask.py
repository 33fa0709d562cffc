"""Flask: the agent's request handling first in every Flask app, and the matched route in the inputs.

``Flask.__call__`` gets the generic WSGI middleware around it, so the agent
comes before the app's ``wsgi_app`` (and any middleware the app put there,
ProxyFix included), before ``before_request`` functions and error
handlers. ``RequestBlocked`` is a ``BaseException``: Flask's
``handle_exception`` never sees it, the middleware turns it into the 403
page. The rule Flask matched (``/items/<int:id>``) and its ``view_args``
are read from Flask's request context when the agent first needs the
request's inputs or its route (at its first sensitive call, or for an
event), so a request that makes none pays nothing for them and route
parameters are part of the inputs. Before Flask has matched the URL
(``RequestContext.match_request``, which runs before the
``url_value_preprocessor`` and ``before_request`` functions), the inputs
are worked out without them and not kept.
"""
from __future__ import absolute_import

from sqreen import _log
from sqreen.integrations._flask_entry import wrap_entry

# Where Flask keeps its current RequestContext: a context variable from Flask 2.2 on, a stack before.
_contexts = {"variable": None, "stack": None}


def patch(module):
    """Patch the ``flask`` package's ``Flask`` class (once per class)."""
    import flask.globals

    _contexts["variable"] = getattr(flask.globals, "_cv_request", None)
    if _contexts["variable"] is None:
        _contexts["stack"] = flask.globals._request_ctx_stack
    wrap_entry(module.Flask, route_reader=read_route)


def read_route(request):
    """``(rule, view_args)`` of the Flask request being served, or None until Flask has matched its URL."""
    try:
        variable = _contexts["variable"]
        context = variable.get(None) if variable is not None else _contexts["stack"].top
        if context is None:
            return None
        flask_request = context.request
        rule = flask_request.url_rule
        if rule is None:
            if flask_request.routing_exception is None:
                return None  # not matched yet (a session interface runs first)
            return None, None  # no route: 404, 405 or a redirect
        return rule.rule, flask_request.view_args
    except Exception:
        _log.log_once("integration:flask:route", "sqreen: cannot read the route Flask matched",
                      exc_info=True)
        return None, None
