"""Django: every request through the agent, first, with the matched route among its inputs.

``patch(django)`` runs when the application imports ``django``; it only
asks the import hook to call back when ``django.core.handlers.wsgi`` is
imported (by ``get_wsgi_application()``, ``runserver`` or the app), so the
agent itself imports nothing of Django. That module's ``WSGIHandler`` is
then served through ``sqreen.wsgi.middleware`` -- the request context, the
IP blocklist, the 403 page and the end of the request are the generic
middleware's -- and each handler's loaded middleware chain gets the agent's
layer in front of the project's own middleware (see ``_django_layer``),
without touching the project's settings.

Patching again (a reload, a second ``patch``) changes nothing; a failure
is logged once and the application runs unprotected.
"""
from __future__ import absolute_import

import functools
import threading

from sqreen import _log

HANDLER_MODULE = "django.core.handlers.wsgi"
_MARK = "__sqreen_django__"
_lock = threading.Lock()
_watching = []


def patch(module):
    """Watch for Django's WSGI handler module (patched at once if it is already imported)."""
    with _lock:
        if _watching:
            return
        _watching.append(True)
    from sqreen import importhook

    importhook.register(HANDLER_MODULE, _patch_handler_module)


def _patch_handler_module(module):
    try:
        patch_handler(module.WSGIHandler)
    except Exception:
        _log.log_once("django:patch", "sqreen: cannot instrument Django's WSGI handler; Django requests "
                      "run unprotected", exc_info=True)


def patch_handler(cls):
    """Serve ``cls`` (``WSGIHandler`` or a subclass) through the agent; once per class."""
    original = vars(cls).get("__call__")
    if original is None or getattr(original, _MARK, False):
        return False
    from sqreen import wsgi
    from sqreen.integrations import _django_layer

    layer = _django_layer.Layer
    serve = wsgi.serve

    def __call__(self, environ, start_response):
        app = self.__dict__.get("_sqreen_app")
        if app is None:
            app = self.__dict__["_sqreen_app"] = functools.partial(original, self)
        if type(self.__dict__.get("_middleware_chain")) is not layer:  # joined once per handler
            _django_layer.ensure(self)
        return serve(app, environ, start_response)

    setattr(__call__, _MARK, True)
    __call__.__wrapped__ = original
    __call__.__doc__ = original.__doc__
    cls.__call__ = __call__
    return True
