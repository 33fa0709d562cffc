"""Dispatch for hooked generators, coroutines and async generators (Python 3 only).

Their callbacks run when the body would: pre at the first resume, post
when the body returns (with ``StopIteration.value``, the awaited result,
or None for async generators), failing when it raises an ``Exception``.
``yield from`` (and, for async generators, an explicit ``asend`` /
``athrow`` / ``aclose`` loop) hands every resume to the original, so the
caller's ``send``, ``throw`` and ``close`` reach its body unchanged.
"""
import types

from ._hookpoint import ReplaceArgs, ReturnValue


class Call(object):
    """One call of a hooked generator-like function, stage by stage."""

    __slots__ = ("hookpoint", "wrapped", "instance", "args", "kwargs")

    def __init__(self, hookpoint, wrapped, instance, args, kwargs):
        self.hookpoint = hookpoint
        self.wrapped = wrapped
        self.instance = instance
        self.args = args
        self.kwargs = kwargs

    def start(self, at=None, action=None):
        """Run the pre chain; return the original's generator/coroutine, or a ``ReturnValue``.

        ``at`` and ``action``: the pre callback ``at[0]`` already returned
        ``action``; only the callbacks ``at[1]`` are left to run.
        """
        hookpoint = self.hookpoint
        chain = None
        if action is not None:  # (None: run the whole pre chain)
            if type(action) is ReturnValue:
                return action
            if type(action) is ReplaceArgs:
                self.args, self.kwargs = action.args, action.kwargs
            else:
                hookpoint.bad_action(at[0], "pre", action)
            chain = at[1]
        entered = hookpoint.enter()
        if entered is not None and (hookpoint.pre if chain is None else chain):
            args, kwargs, replaced = hookpoint.run_pre(entered[0], entered[1], self.instance, self.args,
                                                       self.kwargs, chain)
            if replaced is not None:
                return replaced
            self.args, self.kwargs = args, kwargs
        return self.wrapped(*self.args, **self.kwargs)

    def finish(self, result):
        """Run the post chain; return the result."""
        hookpoint = self.hookpoint
        entered = hookpoint.enter()
        if entered is None or not hookpoint.post:
            return result
        return hookpoint.run_post(entered[0], entered[1], self.instance, self.args, self.kwargs, result)

    def failed(self, exc):
        """Run the failing chain; a ``ReturnValue`` swallows ``exc``."""
        hookpoint = self.hookpoint
        entered = hookpoint.enter()
        if entered is None or not hookpoint.failing:
            return None
        return hookpoint.run_failing(entered[0], entered[1], self.instance, self.args, self.kwargs, exc)


def drive(hookpoint, wrapped, instance, args, kwargs, at=None, action=None):
    """Delegate to the original generator with the callbacks around it (see ``Call.start``)."""
    call = Call(hookpoint, wrapped, instance, args, kwargs)
    inner = call.start(at, action)
    if type(inner) is ReturnValue:
        return inner.value
    try:
        result = yield from inner
    except Exception as exc:
        replaced = call.failed(exc)
        if replaced is None:
            raise
        return replaced.value
    return call.finish(result)


# The same, as a generator-based coroutine: it may ``yield from`` a native
# coroutine, and ``await`` accepts it.
drive_coroutine = types.coroutine(
    types.FunctionType(drive.__code__, globals(), "drive_coroutine", drive.__defaults__))


# The builtins the trampolines use, reached through this module so that a
# hooked module's globals cannot shadow them.
type = type
StopAsyncIteration = StopAsyncIteration
Exception = Exception
GeneratorExit = GeneratorExit
BaseException = BaseException

# Body of an async generator trampoline (async generators cannot delegate).
ASYNC_GENERATOR = """\
_sqreen_call = _sqreen_lib.Call(_sqreen_hp, {bound}, {instance}, {args}, {kwargs})
_sqreen_inner = _sqreen_call.start()
if _sqreen_lib.type(_sqreen_inner) is _sqreen_lib.ReturnValue:
    return
_sqreen_sent = _sqreen_thrown = None
while True:
    try:
        if _sqreen_thrown is None:
            _sqreen_item = await _sqreen_inner.asend(_sqreen_sent)
        else:
            _sqreen_item = await _sqreen_inner.athrow(_sqreen_thrown)
    except _sqreen_lib.StopAsyncIteration:
        _sqreen_call.finish(None)
        return
    except _sqreen_lib.Exception as _sqreen_exc:
        if _sqreen_call.failed(_sqreen_exc) is not None:
            return
        raise
    _sqreen_sent = _sqreen_thrown = None
    try:
        _sqreen_sent = yield _sqreen_item
    except _sqreen_lib.GeneratorExit:
        await _sqreen_inner.aclose()
        raise
    except _sqreen_lib.BaseException as _sqreen_exc:
        _sqreen_thrown = _sqreen_exc
"""
