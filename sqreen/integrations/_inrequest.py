"""A hook point whose callbacks run only while a request is being served.

Some sinks (``open``, ``os.open``...) are called all the time by code that
serves no request: imports, logging, templates, the agent itself. Only a
request's inputs can make such a call an attack, so outside a request the
call must go straight through at the cost of one context look-up, before
the dispatch looks at any thread state or time budget.
"""
from sqreen import _request
from sqreen.instrumentation import HookPoint


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

    __slots__ = ()

    def _generate_call(self):
        return _gated(HookPoint._generate_call(self), _request.current)
