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

from .. import _log
from . import _budget

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


def thread_state():
    """This thread's ``[busy]`` flag, True while one of its callbacks runs."""
    try:
        return _tls.state
    except AttributeError:
        state = _tls.state = [False]
        return state


class agent_code(object):
    """Context manager: calls made inside do not run any callback.

    For the agent's own work outside of callbacks (e.g. a reporting thread
    sending events over HTTP).
    """

    __slots__ = ("_state", "_previous")

    def __enter__(self):
        self._state = thread_state()
        self._previous = self._state[0]
        self._state[0] = True
        return self

    def __exit__(self, *exc):
        self._state[0] = self._previous
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

    ``active`` is False while no callback is attached, so a mechanism can
    call straight through. ``on_empty`` (if set) is called, without
    arguments, when the last registration is removed: the mechanism that
    installed this hook point uses it to restore the target.
    """

    __slots__ = ("name", "active", "pre", "post", "failing", "on_empty", "_regs", "_lock", "_seq",
                 "__weakref__")

    def __init__(self, name="?"):
        self.name = name
        self.active = False
        self.pre = ()  # tuples of (callback, interruptible), in run order
        self.post = ()
        self.failing = ()
        self.on_empty = None
        self._regs = []
        self._lock = threading.Lock()
        self._seq = 0

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
        # Each chain is swapped in whole: a concurrent call sees the old or the new one.
        self.pre = tuple((r.pre, r.interruptible) for r in regs if r.pre is not None)
        self.post = tuple((r.post, r.interruptible) for r in regs if r.post is not None)
        self.failing = tuple((r.failing, r.interruptible) for r in regs if r.failing is not None)
        self.active = bool(self.pre or self.post or self.failing)

    # -- dispatch -----------------------------------------------------

    def call(self, wrapped, instance, args, kwargs):
        """Call ``wrapped(*args, **kwargs)`` with the callbacks around it."""
        try:
            state = _tls.state
        except AttributeError:
            state = thread_state()
        if state[0] or not self.active:
            return wrapped(*args, **kwargs)
        budget = _budget.current() if _budget.enabled else None
        if self.pre:
            args, kwargs, replaced = self.run_pre(state, budget, instance, args, kwargs)
            if replaced is not None:
                return replaced.value
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
        if state[0] or not self.active:
            return None
        return state, (_budget.current() if _budget.enabled else None)

    def run_pre(self, state, budget, instance, args, kwargs):
        """Run the pre chain; return ``(args, kwargs, ReturnValue or None)``."""
        state[0] = True
        start = clock() if budget is not None else 0.0
        try:
            for cb, interruptible in self.pre:
                if budget is not None and interruptible and _spent(budget, start):
                    budget.skip()
                    continue
                try:
                    action = cb(instance, args, kwargs)
                except Exception:
                    self._callback_failed(cb, "pre")
                    continue
                if action is None:
                    continue
                kind = type(action)
                if kind is ReplaceArgs:
                    args, kwargs = action.args, action.kwargs
                elif kind is ReturnValue:
                    return args, kwargs, action
                else:
                    self._bad_action(cb, "pre", action)
            return args, kwargs, None
        finally:
            state[0] = False
            if budget is not None:
                budget.spent += clock() - start

    def run_post(self, state, budget, instance, args, kwargs, result):
        """Run the post chain; return the (possibly replaced) result."""
        state[0] = True
        start = clock() if budget is not None else 0.0
        try:
            for cb, interruptible in self.post:
                if budget is not None and interruptible and _spent(budget, start):
                    budget.skip()
                    continue
                try:
                    action = cb(instance, args, kwargs, result)
                except Exception:
                    self._callback_failed(cb, "post")
                    continue
                if action is not None:
                    if type(action) is ReturnValue:
                        result = action.value
                    else:
                        self._bad_action(cb, "post", action)
            return result
        finally:
            state[0] = False
            if budget is not None:
                budget.spent += clock() - start

    def run_failing(self, state, budget, instance, args, kwargs, exc):
        """Run the failing chain; return a ``ReturnValue`` that swallows ``exc``, or None."""
        state[0] = True
        start = clock() if budget is not None else 0.0
        try:
            for cb, interruptible in self.failing:
                if budget is not None and interruptible and _spent(budget, start):
                    budget.skip()
                    continue
                try:
                    action = cb(instance, args, kwargs, exc)
                except Exception:
                    self._callback_failed(cb, "failing")
                    continue
                if action is not None:
                    if type(action) is ReturnValue:
                        return action
                    self._bad_action(cb, "failing", action)
            return None
        finally:
            state[0] = False
            if budget is not None:
                budget.spent += clock() - start

    def _callback_failed(self, cb, stage):
        name = _name_of(cb)
        _log.log_once(
            "%s:%s:%s:%s" % (ERROR_COUNTER, self.name, stage, name),
            "sqreen: %s callback %s on %s failed; ignoring it", stage, name, self.name, exc_info=True,
        )

    def _bad_action(self, cb, stage, action):
        name = _name_of(cb)
        _log.log_once(
            "%s:%s:%s:%s" % (ERROR_COUNTER, self.name, stage, name),
            "sqreen: %s callback %s on %s returned %r, which means nothing there; ignoring it",
            stage, name, self.name, action,
        )


def _spent(budget, start):
    return budget.spent + (clock() - start) >= budget.limit
