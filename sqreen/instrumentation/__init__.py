"""The call-wrapping core: run the agent's callbacks around sensitive calls.

``hook(target, pre=None, post=None, failing=None, priority=0,
interruptible=False, mechanism="auto")`` attaches callbacks to ``target``
and returns a handle whose ``remove()`` detaches them (idempotent). When
the last hook on a target is removed the target is restored exactly.

Targets: a pure-Python function; ``(owner, "attr")`` with a module or class
owner; or a ``"module:Class.method"`` / ``"module:function"`` path. Through
a class owner, callbacks receive the instance (instance methods), the class
(classmethods) or None (staticmethods); for module functions and bare
function targets they receive None.

Callbacks and their decisions (see ``_hookpoint`` for the full contract)::

    def pre(instance, args, kwargs): ...            # None, ReplaceArgs, ReturnValue
    def post(instance, args, kwargs, result): ...   # None or ReturnValue
    def failing(instance, args, kwargs, exc): ...   # None (re-raise) or ReturnValue

Raising ``RequestBlocked`` from a callback stops the call; any other error
in a callback is logged once, counted and otherwise ignored. Several hooks
on one target run in ascending ``priority``, then registration order.
``interruptible=True`` marks callbacks that may be skipped once the current
request has spent its time budget (``budget.start(ms)`` / ``budget.stop()``
/ ``budget.spent()``, called by the request layer).

Mechanisms: ``"inject"`` swaps the ``__code__`` of a pure-Python function
on CPython 3 for a trampoline, so every reference to the function, even
ones taken before hooking, is hooked; ``"wrapper"`` replaces the attribute
on its owner with a wrapper object (C functions, callable objects, Python
2.7). ``"auto"`` picks inject wherever it applies, except for a method a
class inherits: the wrapper hooks it on that class only, where inject
would hook the base class's function for every class sharing it. Inject
keeps one hook point per function object: hooks reaching the same
function through different owners share it, and the first one decides
whether callbacks receive the instance.

How arguments look: under inject the callbacks see the call as bound to
the function's signature (named positional parameters in ``args`` with
their defaults filled in, ``*args`` appended; keyword-only and ``**kwargs``
in ``kwargs``); under wrapper they see the arguments exactly as passed.

Generators, coroutines and async generators (inject): pre runs when the
generator or coroutine is first resumed (when the original body would
start), post when it finishes, with the value it returned (generators:
``StopIteration.value``; coroutines: the awaited result; async generators:
None), failing when it raises. A pre ``ReturnValue`` ends it at once with
that value (dropped for async generators).
"""
import importlib
import platform
import sys
import threading
import types

import six

from .. import _log
from . import _budget as budget
from ._hookpoint import HookPoint, Registration, ReplaceArgs, RequestBlocked, ReturnValue, agent_code

__all__ = [
    "hook", "RequestBlocked", "ReplaceArgs", "ReturnValue", "budget", "agent_code", "Registration",
    "HookPoint", "MECHANISMS",
]

MECHANISMS = ("auto", "inject", "wrapper")
CAN_INJECT = sys.version_info >= (3, 6) and platform.python_implementation() == "CPython"

_lock = threading.RLock()
_points = {}  # key -> HookPoint; key is the function (inject) or (id(owner), name) (wrapper)


def hook(target, pre=None, post=None, failing=None, priority=0, interruptible=False, mechanism="auto"):
    """Attach callbacks to ``target``; return a handle with ``remove()``."""
    if mechanism not in MECHANISMS:
        raise ValueError("mechanism must be one of %s, not %r" % (", ".join(MECHANISMS), mechanism))
    if pre is None and post is None and failing is None:
        raise ValueError("hook() needs at least one of pre, post, failing")
    for callback in (pre, post, failing):
        if callback is not None and not callable(callback):
            raise TypeError("callback %r is not callable" % (callback,))
    owner, name, raw = _resolve(target)
    with _lock:
        hookpoint = _hookpoint_for(owner, name, raw, mechanism)
        return hookpoint.add(pre, post, failing, priority, interruptible)


def _resolve(target):
    """``(owner or None, attribute name, raw attribute)`` for a hook target."""
    if isinstance(target, six.string_types):
        module_name, _, path = target.partition(":")
        if not path:
            raise ValueError("expected 'module:attr.path', got %r" % (target,))
        owner = importlib.import_module(module_name)
        parts = path.split(".")
        for part in parts[:-1]:
            owner = getattr(owner, part)
        target = (owner, parts[-1])
    if isinstance(target, tuple):
        owner, name = target
        return owner, name, _raw_attribute(owner, name)
    if isinstance(target, types.FunctionType):
        return None, target.__name__, target
    raise TypeError("cannot hook %r: pass a function, (owner, 'attr') or 'module:path'" % (target,))


def _raw_attribute(owner, name):
    if isinstance(owner, type) or (sys.version_info[0] == 2 and isinstance(owner, types.ClassType)):
        for klass in getattr(owner, "__mro__", (owner,)):
            if name in vars(klass):
                return vars(klass)[name]
        raise AttributeError("%r has no attribute %r" % (owner, name))
    return getattr(owner, name)


def _injectable(owner, name, raw, mechanism):
    """``(function, kind)`` when inject applies to this attribute, else None."""
    if not CAN_INJECT:
        return None
    from . import _inject

    is_class = isinstance(owner, type)
    if mechanism == "auto" and is_class and name not in vars(owner):
        return None  # inherited: the wrapper hooks it on this class only, inject would hook the base too
    if isinstance(raw, staticmethod):
        func, kind = raw.__func__, "function"
    elif isinstance(raw, classmethod):
        func, kind = raw.__func__, "method"
    else:
        func, kind = raw, "method" if is_class else "function"
    if not _inject.supported(func, kind):
        return None
    return func, kind


def _hookpoint_for(owner, name, raw, mechanism):
    injectable = _injectable(owner, name, raw, mechanism) if mechanism in ("auto", "inject") else None
    if mechanism == "inject" and injectable is None:
        raise TypeError("cannot inject into %r (%s)" % (raw, "not a pure-Python function"
                                                        if CAN_INJECT else "needs CPython 3.6+"))
    if injectable is not None:
        func, kind = injectable
        key = func
    else:
        if owner is None:
            owner = _owner_of(raw)
        key = (id(owner), name)
    hookpoint = _points.get(key)
    if hookpoint is not None:
        return hookpoint
    label = "%s.%s" % (getattr(owner, "__name__", type(owner).__name__), name) if owner is not None \
        else "%s.%s" % (getattr(raw, "__module__", "?"), getattr(raw, "__qualname__", name))
    hookpoint = HookPoint(label)
    undo = None
    if injectable is not None:
        from . import _inject

        try:
            undo = _inject.install(func, hookpoint, kind)
        except Exception:
            if mechanism == "inject" or owner is None:
                raise
            _log.log_once("instrumentation.inject_failed:%s" % label,
                          "sqreen: cannot inject into %s; wrapping it instead", label, exc_info=True)
            key = (id(owner), name)
    if undo is None:
        from . import _wrappers

        undo = _wrappers.install(owner, name, hookpoint)
    hookpoint.on_empty = lambda: _uninstall(key, hookpoint, undo)
    _points[key] = hookpoint
    return hookpoint


def _owner_of(func):
    """The module or class that holds a function, for the wrapper mechanism."""
    owner = sys.modules.get(getattr(func, "__module__", None) or "")
    path = (getattr(func, "__qualname__", None) or func.__name__).split(".")
    for part in path[:-1]:
        owner = getattr(owner, part, None)
    if owner is None or getattr(owner, path[-1], None) is not func:
        raise TypeError("cannot find where %r lives; hook it as (owner, 'attr')" % (func,))
    return owner


def _uninstall(key, hookpoint, undo):
    with _lock:
        if hookpoint.active or _points.get(key) is not hookpoint:
            return
        del _points[key]
        undo()
