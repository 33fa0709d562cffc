"""A hook point whose callbacks run only while a request is being served.

Some sinks (``open``, ``os.open``...) are called all the time by code that
serves no request: imports, logging, templates, the agent itself. Only a
request's inputs can make such a call an attack, so outside a request the
call must go straight through at the cost of one context look-up, before
the dispatch looks at any thread state or time budget.

``sqreen._request`` (and the URL parsing it imports) is not loaded when the
agent starts: until something loads it no request can be current, and the
gate only looks for it in ``sys.modules``; once it is there, every gate is
rebuilt on its ``current``.
"""
import sys
import weakref

from sqreen.instrumentation import HookPoint

_REQUEST_MODULE = "sqreen._request"
_points = weakref.WeakSet()


def _loaded_current():
    # None while ``sqreen._request`` is not imported, or still running its body
    # (what it imports may call a hooked sink): no request can be current then.
    return getattr(sys.modules.get(_REQUEST_MODULE), "current", None)


def current_request():
    """The request being served, or None (without importing ``sqreen._request``)."""
    current = _loaded_current()
    return current() if current is not None else None


def _until_loaded():
    """``current`` until ``sqreen._request`` is loaded: then it regates every hook point on the real one."""
    current = _loaded_current()
    if current is None:
        return None
    for point in list(_points):
        point.regate(current)
    return current()


def _current():
    return _loaded_current() or _until_loaded


def _gated(dispatch, current):
    def call(wrapped, instance, args, kwargs):
        if current() is None:
            return wrapped(*args, **kwargs)
        return dispatch(wrapped, instance, args, kwargs)

    return call


class RequestHookPoint(HookPoint):
    """:class:`HookPoint` whose ``call`` runs the callbacks inside a request only.

    Install it with the wrapper mechanism (``_wrappers.install``), which
    enters through ``call``; the injected trampolines would not see the gate.
    """

    __slots__ = ("dispatch",)

    def _generate_call(self):
        self.dispatch = HookPoint._generate_call(self)
        current = _current()
        if current is _until_loaded:
            _points.add(self)
        return _gated(self.dispatch, current)

    def regate(self, current):
        """Gate on ``current`` from now on."""
        self.call = _gated(self.dispatch, current)
        _points.discard(self)
