"""The hook point: the callbacks attached to one target, and the dispatch.

Both call-wrapping mechanisms (code injection and descriptor wrappers) end
up in ``HookPoint.call``, which gives every hooked call the same semantics:

* ``pre(instance, args, kwargs)`` callbacks run before the call. Each may
  return ``None`` (carry on), ``ReplaceArgs(args, kwargs)`` (the following
  callbacks and the call itself see the new arguments; the caller's own
  tuple and dict are never touched) or ``ReturnValue(value)`` (the call is
  replaced: the original, the remaining pre and all post callbacks do not
  run).
* ``post(instance, args, kwargs, result)`` callbacks run after a call that
  returned. Each may return ``ReturnValue(value)`` to replace the result.
* ``failing(instance, args, kwargs, exc)`` callbacks run after a call that
  raised an ``Exception`` (not a bare ``BaseException`` such as
  ``RequestBlocked``, ``KeyboardInterrupt`` or ``GeneratorExit``). Each may
  return ``ReturnValue(value)`` to swallow the exception and return that
  value instead (post callbacks then do not run); otherwise the exception
  propagates with its original traceback.
* A callback raising ``RequestBlocked`` stops the call: it always
  propagates. Any other exception from a callback is logged once per
  callback, counted, and the call goes on as if that callback were absent.
* Calls made while a callback runs on the same thread (the agent's own
  logging, SQL or HTTP) bypass every hook point. Callbacks are synchronous,
  so nothing else runs on that thread until the callback returns: a
  per-thread flag is exact even when requests are asyncio tasks.
* While a request budget is open (see ``_budget``), callbacks marked
  interruptible are skipped once the budget is spent.

Callbacks run in ascending ``priority`` order, then in registration order,
for every chain. This module stays Python 2.7 compatible.
"""
import sys
import threading
import weakref

from .. import _log
from . import _budget, _dispatch

clock = _budget.clock

ERROR_COUNTER = "instrumentation.callback_error"


class RequestBlocked(BaseException):
    """Raised by a callback to stop the call and the request.

    A BaseException so that the application's ``except Exception:`` blocks
    do not swallow it on its way up to the request layer.
    """


class ReplaceArgs(object):
    """Returned by a pre callback: call with these arguments instead."""

    __slots__ = ("args", "kwargs")

    def __init__(self, args, kwargs=None):
        self.args = tuple(args)
        self.kwargs = dict(kwargs) if kwargs else {}

    def __repr__(self):
        return "ReplaceArgs(%r, %r)" % (self.args, self.kwargs)


class ReturnValue(object):
    """Returned by a callback: the call's result is ``value``."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return "ReturnValue(%r)" % (self.value,)


_tls = threading.local()


class ThreadState(object):
    """A thread's re-entrancy flag: ``busy`` is True while one of its callbacks runs.

    An object with a slot rather than a one-item list: the generated
    dispatch reads and writes the flag four times per call, and an
    attribute of a slot is one instruction less each time.
    """

    __slots__ = ("busy",)

    def __init__(self):
        self.busy = False


def thread_state():
    """This thread's ``ThreadState``."""
    try:
        return _tls.state
    except AttributeError:
        state = _tls.state = ThreadState()
        return state


class agent_code(object):
    """Context manager: calls made inside do not run any callback.

    For the agent's own work outside of callbacks (e.g. a reporting thread
    sending events over HTTP).
    """

    __slots__ = ("_state", "_previous")

    def __enter__(self):
        self._state = thread_state()
        self._previous = self._state.busy
        self._state.busy = True
        return self

    def __exit__(self, *exc):
        self._state.busy = self._previous
        return False


def _name_of(obj):
    module = getattr(obj, "__module__", None) or "?"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return "%s.%s" % (module, name)


class Registration(object):
    """One ``hook()`` call's callbacks on a hook point; ``remove()`` detaches them."""

    __slots__ = ("hookpoint", "pre", "post", "failing", "priority", "interruptible", "seq", "removed")

    def __init__(self, hookpoint, pre, post, failing, priority, interruptible, seq):
        self.hookpoint = hookpoint
        self.pre = pre
        self.post = post
        self.failing = failing
        self.priority = priority
        self.interruptible = interruptible
        self.seq = seq
        self.removed = False

    def remove(self):
        """Detach these callbacks; the second and later calls do nothing."""
        self.hookpoint.discard(self)

    def __repr__(self):
        return "<sqreen hook on %s%s>" % (self.hookpoint.name, " (removed)" if self.removed else "")


class HookPoint(object):
    """The callbacks of one target and the dispatch that runs them.

    ``call(wrapped, instance, args, kwargs)`` runs a call with the callbacks
    around it; it is regenerated (see ``_dispatch``) whenever the callbacks
    change, and ``dispatch`` is its generic, slower twin. ``active`` is False
    while no callback is attached, so a mechanism can call straight through.
    ``on_empty`` (if set) is called, without arguments, when the last
    registration is removed: the mechanism that installed this hook point
    restores the target then. Functions in ``listeners`` are called, under
    the hook point's lock, after every change of the callbacks.
    """

    __slots__ = ("name", "active", "pre", "post", "failing", "call", "on_empty", "listeners", "_regs",
                 "_lock", "_seq", "__weakref__")

    def __init__(self, name="?"):
        self.name = name
        self.on_empty = None
        self.listeners = []
        self._regs = []
        self._lock = threading.Lock()
        self._seq = 0
        with _points_lock:  # before reading _budget.enabled (see _budget_enabled)
            _points.add(self)
        self._rebuild()

    def __repr__(self):
        return "<HookPoint %s: %d hooks>" % (self.name, len(self._regs))

    # -- registration -------------------------------------------------

    def add(self, pre=None, post=None, failing=None, priority=0, interruptible=False):
        """Attach callbacks; return their ``Registration``."""
        for cb in (pre, post, failing):
            if cb is not None and not callable(cb):
                raise TypeError("callback %r is not callable" % (cb,))
        with self._lock:
            self._seq += 1
            reg = Registration(self, pre, post, failing, priority, bool(interruptible), self._seq)
            self._regs.append(reg)
            self._rebuild()
        if interruptible and not _budget.enabled:
            _budget.want()  # outside our lock: enabling rebuilds every hook point, this one included
        return reg

    def discard(self, reg):
        """Detach ``reg`` (no-op if already detached); restore the target when empty."""
        with self._lock:
            if reg.removed or reg not in self._regs:
                return
            reg.removed = True
            self._regs.remove(reg)
            self._rebuild()
            empty = not self._regs
        if empty and self.on_empty is not None:
            self.on_empty()

    def _rebuild(self):
        regs = sorted(self._regs, key=lambda r: (r.priority, r.seq))
        # Chains are tuples of (callback, interruptible), swapped in whole: a
        # concurrent call sees the old set or the new one.
        self.pre = tuple((r.pre, r.interruptible) for r in regs if r.pre is not None)
        self.post = tuple((r.post, r.interruptible) for r in regs if r.post is not None)
        self.failing = tuple((r.failing, r.interruptible) for r in regs if r.failing is not None)
        self.call = self._generate_call()
        self.active = bool(self.pre or self.post or self.failing)
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:
                _log.log_once("instrumentation.listener:%s" % self.name,
                              "sqreen: updating the hook on %s failed", self.name, exc_info=True)

    def chains(self):
        """The current ``(pre, post, failing)`` chains."""
        return self.pre, self.post, self.failing

    def refresh(self):
        """Rebuild the dispatch for the same callbacks (the budget was enabled)."""
        with self._lock:
            if self._regs:
                self._rebuild()

    def _generate_call(self):
        lines, objects = _dispatch.body(self.chains(), "instance", "args", "kwargs",
                                        "wrapped(*args, **kwargs)", "wrapped", timed=_budget.enabled)
        objects.update(dispatch_objects(self))
        source = _dispatch.function_source("call", "wrapped, instance, args, kwargs", lines)
        exec(compile(source, "<sqreen dispatch>", "exec"), objects)
        return objects["call"]

    # -- the generic dispatch and its parts -----------------------------

    thread_state = staticmethod(thread_state)

    def dispatch(self, wrapped, instance, args, kwargs):
        """What ``call`` does, with loops: the path for requests with a budget."""
        state = thread_state()
        if state.busy or not self.active:
            return wrapped(*args, **kwargs)
        budget = _budget.current() if _budget.enabled else None
        if self.pre:
            args, kwargs, replaced = self.run_pre(state, budget, instance, args, kwargs)
            if replaced is not None:
                return replaced.value
        return self._invoke(state, budget, wrapped, instance, args, kwargs)

    def resume(self, at, action, wrapped, instance, args, kwargs):
        """Finish a call after the pre callback ``at[0]`` returned ``action`` (``at[1]``: the rest).

        Without an action (None), the whole call goes through ``dispatch``.
        """
        if action is None:
            return self.dispatch(wrapped, instance, args, kwargs)
        kind = type(action)
        if kind is ReturnValue:
            return action.value
        if kind is ReplaceArgs:
            args, kwargs = action.args, action.kwargs
        else:
            self.bad_action(at[0], "pre", action)
        state = thread_state()
        budget = _budget.current() if _budget.enabled else None
        if at[1]:
            args, kwargs, replaced = self.run_pre(state, budget, instance, args, kwargs, at[1])
            if replaced is not None:
                return replaced.value
        return self._invoke(state, budget, wrapped, instance, args, kwargs)

    def _invoke(self, state, budget, wrapped, instance, args, kwargs):
        try:
            result = wrapped(*args, **kwargs)
        except Exception:
            if not self.failing:
                raise
            # The chain runs in its own frame, so on 2.7 too the bare raise
            # re-raises this exception with its traceback.
            replaced = self.run_failing(state, budget, instance, args, kwargs, sys.exc_info()[1])
            if replaced is None:
                raise
            return replaced.value
        if self.post:
            return self.run_post(state, budget, instance, args, kwargs, result)
        return result

    def enter(self):
        """``(state, budget)`` for a dispatch starting now, or None to call straight through."""
        state = thread_state()
        if state.busy or not self.active:
            return None
        return state, (_budget.current() if _budget.enabled else None)

    def run_pre(self, state, budget, instance, args, kwargs, chain=None):
        """Run the pre chain; return ``(args, kwargs, ReturnValue or None)``."""
        state.busy = True
        start = clock() if budget is not None else 0.0
        try:
            for cb, interruptible in self.pre if chain is None else chain:
                if budget is not None and interruptible and budget.exhausted(start):
                    budget.skip()
                    continue
                try:
                    action = cb(instance, args, kwargs)
                except Exception:
                    self.callback_failed(cb, "pre")
                    continue
                if action is None:
                    continue
                kind = type(action)
                if kind is ReplaceArgs:
                    args, kwargs = action.args, action.kwargs
                elif kind is ReturnValue:
                    return args, kwargs, action
                else:
                    self.bad_action(cb, "pre", action)
            return args, kwargs, None
        finally:
            state.busy = False
            if budget is not None:
                budget.spent += clock() - start

    def run_post(self, state, budget, instance, args, kwargs, result):
        """Run the post chain; return the (possibly replaced) result."""
        return self._run_after(self.post, "post", state, budget, instance, args, kwargs, result)

    def run_failing(self, state, budget, instance, args, kwargs, exc):
        """Run the failing chain; return a ``ReturnValue`` that swallows ``exc``, or None."""
        return self._run_after(self.failing, "failing", state, budget, instance, args, kwargs, exc)

    def _run_after(self, chain, stage, state, budget, instance, args, kwargs, value):
        # post: each ReturnValue replaces the result the next callbacks see.
        # failing: the first ReturnValue swallows the exception and ends the chain.
        state.busy = True
        start = clock() if budget is not None else 0.0
        try:
            for cb, interruptible in chain:
                if budget is not None and interruptible and budget.exhausted(start):
                    budget.skip()
                    continue
                try:
                    action = cb(instance, args, kwargs, value)
                except Exception:
                    self.callback_failed(cb, stage)
                    continue
                if action is None:
                    continue
                if type(action) is not ReturnValue:
                    self.bad_action(cb, stage, action)
                elif stage == "failing":
                    return action
                else:
                    value = action.value
            return value if stage == "post" else None
        finally:
            state.busy = False
            if budget is not None:
                budget.spent += clock() - start

    def post_action(self, cb, action, result):
        """The result after post callback ``cb`` returned the non-None ``action``.

        May run outside the chain (its flag down): the warning is agent code.
        """
        if type(action) is ReturnValue:
            return action.value
        with agent_code():
            self.bad_action(cb, "post", action)
        return result

    def callback_failed(self, cb, stage):
        """Log (once per callback) and count the exception ``cb`` just raised; return None."""
        name = _name_of(cb)
        _log.log_once(
            "%s:%s:%s:%s" % (ERROR_COUNTER, self.name, stage, name),
            "sqreen: %s callback %s on %s failed; ignoring it", stage, name, self.name, exc_info=True,
        )

    def bad_action(self, cb, stage, action):
        """Log (once per callback) and count a decision that means nothing at ``stage``."""
        name = _name_of(cb)
        _log.log_once(
            "%s:%s:%s:%s" % (ERROR_COUNTER, self.name, stage, name),
            "sqreen: %s callback %s on %s returned %r, which means nothing there; ignoring it",
            stage, name, self.name, action,
        )


# Every hook point, so that the first budget to open can rebuild them all
# (the lock: a hook point made by another thread must not break the copy).
_points = weakref.WeakSet()
_points_lock = threading.Lock()


def _budget_enabled():
    with _points_lock:
        points = list(_points)
    for hookpoint in points:
        hookpoint.refresh()


_budget.on_enable.append(_budget_enabled)


def dispatch_objects(hookpoint):
    """The objects every generated dispatch of ``hookpoint`` refers to, by name."""
    return {"_sqreen_hp": hookpoint, "_sqreen_tls": _tls, "_sqreen_budget": _budget,
            "_sqreen_Exception": Exception, "_sqreen_AttributeError": AttributeError}
