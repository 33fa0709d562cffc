"""The wrapper mechanism: replace an attribute by a wrapper that calls through a hook point.

Used for C functions, callable objects and every target on Python 2.7, where
the code of the target cannot be changed in place. The wrapper has to pass for
the original: it keeps its name, documentation, module, ``__wrapped__`` (so
``inspect.signature`` works), binds like the original does (instance, class
and static methods), pickles by reference and answers ``isinstance`` checks
for wrapped classes.

Two kinds of wrappers exist. Plain functions, static and class methods get a
small closure: a real Python function binds as a method for free and is the
cheapest thing CPython can call. Everything else (callable objects, classes,
C methods put on Python classes, other libraries' wrappers) gets a proxy
object that forwards binding and attribute access to its target.

Every installation is a *layer* that knows what it replaced, so ``undo``
restores the target exactly. When some other code wrapped the attribute on
top of our layer, tearing our layer out would break theirs: instead the layer
is switched off (it calls straight through) and removes itself as soon as it
is found on top again. Layers of ours stacked on each other are spliced out
directly.
"""
import functools
import os
import sys
import threading
import types

from sqreen._log import log_once

__all__ = ["install", "wrap"]

_MISSING = object()
_MethodType = types.MethodType
_lock = threading.RLock()
_pid = os.getpid()
# id(installed object) -> layer, for the layers currently in place.
_installed = {}


class _Off(object):
    """The hook point of a layer that no longer hooks anything: never active."""

    active = False
    pre = post = failing = ()

    def enter(self):
        return None  # for the generator drivers: call straight through

    def call(self, wrapped, instance, args, kwargs):  # pragma: no cover - never reached
        return wrapped(*args, **kwargs)


_OFF = _Off()  # switched off under someone else's wrapper: removes itself once found on top again
_GONE = _Off()  # removed: a stale reference to the wrapper just calls through


class _Layer(object):
    """One replacement of ``owner.name``: what was there, what we put, what we call."""

    __slots__ = ("owner", "name", "original", "inherited", "target", "hookpoint", "installed", "function")

    def __init__(self, owner, name, hookpoint):
        self.owner = owner
        self.name = name
        self.hookpoint = hookpoint
        self.original = _MISSING  # the object found in owner's own __dict__
        self.inherited = False  # True when the attribute came from a base class (or the class of an instance)
        self.target = None  # what the wrapper calls
        self.installed = None  # what we put in owner's __dict__
        self.function = None  # the closure or proxy carrying __wrapped__


def _copy_metadata(wrapper, wrapped):
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            value = getattr(wrapped, attr)
        except AttributeError:
            continue
        try:
            setattr(wrapper, attr, value)
        except (AttributeError, TypeError):
            pass
    try:
        wrapper.__dict__.update(getattr(wrapped, "__dict__", {}))
    except (AttributeError, TypeError):
        pass
    wrapper.__wrapped__ = wrapped


def locked():
    """The lock of every install and undo; a new one in a forked child, where the parent's may be held."""
    global _lock, _pid
    if _pid != os.getpid():  # Python 2 has no fork hooks: check the pid (install and undo are rare)
        _lock, _pid = threading.RLock(), os.getpid()
    return _lock


def _heal(layer):
    """A switched-off layer found on top again removes itself (best effort, never blocks)."""
    lock = locked()
    if not lock.acquire(False):
        return
    try:
        if _installed.get(id(layer.installed)) is layer and _current(layer) is layer.installed:
            _restore(layer)
    except Exception:
        log_once("instrumentation.wrappers.heal", "sqreen: could not remove a switched-off wrapper",
                 exc_info=True)
    finally:
        lock.release()


# The hot path. Each kind of closure comes as two codes with the same free
# variables: the fast one reads its target and hook point from its own cells;
# the slow one reads them from the layer on every call. A wrapper starts
# fast and is switched for good to the slow code (by swapping its __code__,
# which calls already running do not see) once its layer changes under it:
# spliced, switched off or removed. Dead ``if 0:`` references keep the free
# variables of both codes identical.

def _method_fast(layer, target, hookpoint):
    """Functions in a class: the first positional argument is the instance (or the class)."""

    def wrapper(*args, **kwargs):
        if hookpoint.active and args:
            return hookpoint.call(_MethodType(target, args[0]), args[0], args[1:], kwargs)
        if 0:
            layer
        return target(*args, **kwargs)

    return wrapper


def _method_slow(layer, target, hookpoint):
    def wrapper(*args, **kwargs):
        current = layer.hookpoint
        if current.active and args:
            return current.call(_MethodType(layer.target, args[0]), args[0], args[1:], kwargs)
        if current is _OFF:
            _heal(layer)
        if 0:
            target, hookpoint
        return layer.target(*args, **kwargs)

    return wrapper


def _fixed_fast(layer, target, hookpoint, instance):
    """Calls with a known instance: None for module functions and static methods,
    ``__self__`` for a bound method installed on its instance."""

    def wrapper(*args, **kwargs):
        if hookpoint.active:
            return hookpoint.call(target, instance, args, kwargs)
        if 0:
            layer
        return target(*args, **kwargs)

    return wrapper


def _fixed_slow(layer, target, hookpoint, instance):
    def wrapper(*args, **kwargs):
        current = layer.hookpoint
        if current.active:
            return current.call(layer.target, instance, args, kwargs)
        if current is _OFF:
            _heal(layer)
        if 0:
            target, hookpoint
        return layer.target(*args, **kwargs)

    return wrapper


_SLOW_CODE = {
    _method_fast(None, None, None).__code__: _method_slow(None, None, None).__code__,
    _fixed_fast(None, None, None, None).__code__: _fixed_slow(None, None, None, None).__code__,
}


def _changed(layer, hookpoint=None, target=None):
    """Give the layer a new hook point and/or target; its closure reads them from the layer from now on."""
    if hookpoint is not None:
        layer.hookpoint = hookpoint
    if target is not None:
        layer.target = target
    function = layer.function
    if type(function) is types.FunctionType:
        function.__code__ = _SLOW_CODE.get(function.__code__, function.__code__)
        if target is not None:
            function.__wrapped__ = target


class _Proxy(object):
    # A call-through proxy for targets a closure cannot stand in for. The
    # top-level proxy (in the owner's __dict__) calls ``layer.target``; the
    # proxies its __get__ returns carry the bound target and the instance.
    # No docstring on purpose: ``__doc__`` is the target's. ``__qualname__``
    # cannot be a property of a class: __getattr__ forwards it.

    __slots__ = ("_sq_layer", "_sq_bound", "_sq_instance", "_sq_owner", "__weakref__")

    def __init__(self, layer, bound=None, instance=None, owner=None):
        object.__setattr__(self, "_sq_layer", layer)
        object.__setattr__(self, "_sq_bound", bound)
        object.__setattr__(self, "_sq_instance", instance)
        object.__setattr__(self, "_sq_owner", owner)

    @property
    def __wrapped__(self):
        bound = self._sq_bound
        return self._sq_layer.target if bound is None else bound

    @property
    def __name__(self):
        return self.__wrapped__.__name__

    @property
    def __module__(self):
        return self.__wrapped__.__module__

    @property
    def __doc__(self):
        return self.__wrapped__.__doc__

    @property
    def __class__(self):
        # Pass for the target in isinstance checks, except over another
        # wrapper: its owner's tooling must not take our layer for its own.
        target = self.__wrapped__
        if hasattr(target, "__wrapped__"):
            return _Proxy
        return target.__class__

    def __getattr__(self, name):
        if name.startswith("_sq_"):
            raise AttributeError(name)
        return getattr(self.__wrapped__, name)

    def __setattr__(self, name, value):
        setattr(self.__wrapped__, name, value)

    def __delattr__(self, name):
        delattr(self.__wrapped__, name)

    def __repr__(self):
        return "<sqreen wrapper of %r>" % (self.__wrapped__,)

    def __eq__(self, other):
        if type(other) is _Proxy:
            other = other.__wrapped__
        return self.__wrapped__ == other

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.__wrapped__)

    def __instancecheck__(self, obj):
        return isinstance(obj, self.__wrapped__)

    def __subclasscheck__(self, cls):
        if type(cls) is _Proxy:
            cls = cls.__wrapped__
        return issubclass(cls, self.__wrapped__)

    def __mro_entries__(self, bases):
        return (self.__wrapped__,)

    def __get__(self, instance, owner):
        target = self._sq_layer.target
        get = getattr(type(target), "__get__", None)
        if get is None or self._sq_bound is not None:
            return self
        bound = get(target, instance, owner)
        if bound is target and instance is not None:
            return self  # a descriptor that does not bind
        bound_to = getattr(bound, "__self__", None)
        if bound_to is None:
            bound_to = instance
        if bound_to is None:  # reached through the class: the instance, if any, comes first in the call
            return _Proxy(self._sq_layer, bound, None, owner)
        return _Proxy(self._sq_layer, bound, bound_to)

    def __call__(*args, **kwargs):
        self, args = args[0], args[1:]
        layer = self._sq_layer
        hookpoint = layer.hookpoint
        target = self._sq_bound
        if target is None:
            target = layer.target
        if not hookpoint.active:
            if hookpoint is _OFF:
                _heal(layer)
            return target(*args, **kwargs)
        instance = self._sq_instance
        owner = self._sq_owner
        if owner is not None and args and isinstance(args[0], owner):
            instance, args = args[0], args[1:]
            target = type(layer.target).__get__(layer.target, instance, owner)
        return hookpoint.call(target, instance, args, kwargs)


# Generators, coroutines and async generators get wrappers of their own kind
# (Python 3; on 2.7 a generator function gets the plain closure).
# CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR
_GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200 if sys.version_info[0] >= 3 else 0


def _parts(layer, method, instance):
    """For the generator-like wrappers: ``parts(args) -> (hookpoint, wrapped, instance, args)``."""

    def parts(args):
        hookpoint = layer.hookpoint
        if hookpoint is _OFF:
            _heal(layer)
        if method and args:
            return hookpoint, _MethodType(layer.target, args[0]), args[0], args[1:]
        return hookpoint, layer.target, instance, args

    return parts


def _callable_wrapper(layer, target, kind, instance=None):
    """Build the wrapper calling ``layer.target`` (= ``target``) for the given kind of target."""
    layer.target = target
    if kind == "proxy":
        wrapper = _Proxy(layer)
        layer.function = wrapper
        return wrapper
    if type(target) is types.FunctionType and target.__code__.co_flags & _GENERATOR_FLAGS:
        from . import _wrapgen  # Python 3 syntax

        wrapper = _wrapgen.build(target, _parts(layer, kind == "method", instance))
    elif kind == "method":
        wrapper = _method_fast(layer, target, layer.hookpoint)
    else:
        wrapper = _fixed_fast(layer, target, layer.hookpoint, instance)
    _copy_metadata(wrapper, target)
    layer.function = wrapper
    return wrapper


class _Unbound(functools.partial):
    # Stands in for a target that does not bind as a method (a C function such
    # as ``open`` or ``os.system``, a bound method): a class that takes it as an
    # attribute (``class Store: opener = open``) must get it back unbound, as it
    # got the original, not as a method of its instances. A partial calls its
    # closure from C (no extra Python frame); ``__get__`` is defined here because
    # Python 3.13's partial warns that it will become a method descriptor.
    __slots__ = ()

    def __get__(self, instance, owner=None):
        return self

    def __repr__(self):
        return repr(self.__wrapped__)

    def __reduce__(self):
        # By reference, as the target pickles: ``_pickle_from`` points __module__ at the owner.
        return getattr(self, "__qualname__", self.__name__)


def _unbound(wrapper, target):
    """``wrapper`` (a closure calling ``target``), as unbindable as ``target`` when that is no function."""
    if type(target) is types.FunctionType:
        return wrapper
    unbound = _Unbound(wrapper)
    _copy_metadata(unbound, target)
    return unbound


# Exact types only: proxies (wrapt's, ours) claim their target's __class__.
_ROUTINES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def wrap(func, hookpoint, method=False):
    """Return a wrapper of ``func`` whose calls go through ``hookpoint`` (no owner, nothing to undo).

    With ``method=True`` the wrapper of a plain function is meant to live in a
    class: its first positional argument is reported as the instance.
    """
    layer = _Layer(None, getattr(func, "__name__", None), hookpoint)
    if type(func) is types.FunctionType:
        return _callable_wrapper(layer, func, "method" if method else "fixed")
    if type(func) is types.MethodType and func.__self__ is not None:
        return _unbound(_callable_wrapper(layer, func, "fixed", func.__self__), func)
    if type(func) in _ROUTINES:
        return _unbound(_callable_wrapper(layer, func, "fixed"), func)
    return _callable_wrapper(layer, func, "proxy")


def _vars(owner):
    try:
        return vars(owner)
    except TypeError:
        return {}


def _current(layer):
    return _vars(layer.owner).get(layer.name, _MISSING)


# ``inspect`` imports ``ast``: too heavy for the agent's start, which installs wrappers on the stdlib.
_CLASS_TYPES = (type, getattr(types, "ClassType", type))


def _isclass(obj):
    return isinstance(obj, _CLASS_TYPES)


def _mro(cls, found=None):
    """``cls.__mro__``; for a 2.7 old-style class, its bases depth first (as ``inspect.getmro``)."""
    mro = getattr(cls, "__mro__", None)
    if mro is not None:
        return mro
    found = [] if found is None else found
    if cls not in found:
        found.append(cls)
        for base in cls.__bases__:
            _mro(base, found)
    return tuple(found)


def _find(owner, name):
    """Return (raw object, inherited) for ``owner.name``; raw is the class __dict__ entry for classes."""
    own = _vars(owner).get(name, _MISSING)
    if own is not _MISSING:
        return own, False
    if _isclass(owner):
        for base in _mro(owner)[1:]:
            raw = _vars(base).get(name, _MISSING)
            if raw is not _MISSING:
                return raw, True
        raise AttributeError("%r has no attribute %r" % (owner, name))
    return getattr(owner, name), True


def _pickle_from(wrapper, module):
    """Let pickle find ``wrapper`` by reference where it was installed.

    ``os.system`` says it comes from ``posix``, where the original stays:
    pickle would refuse the wrapper as "not the same object".
    """
    if type(wrapper) is not types.FunctionType and type(wrapper) is not _Unbound:
        return
    home = sys.modules.get(getattr(wrapper, "__module__", None) or "")
    path = getattr(wrapper, "__qualname__", wrapper.__name__)
    if home is None or getattr(home, path, None) is not wrapper:
        if getattr(module, path, None) is wrapper:
            wrapper.__module__ = module.__name__


def _build(layer, raw, in_class):
    """Return what to put in the owner's __dict__ in place of ``raw``."""
    if not callable(raw) and type(raw) not in (staticmethod, classmethod):
        raise TypeError("cannot hook %r: not callable" % (raw,))
    if in_class:
        if type(raw) is types.FunctionType:
            return _callable_wrapper(layer, raw, "method")
        if type(raw) is staticmethod and type(raw.__func__) is types.FunctionType:
            return staticmethod(_callable_wrapper(layer, raw.__func__, "fixed"))
        if type(raw) is classmethod and type(raw.__func__) is types.FunctionType:
            return classmethod(_callable_wrapper(layer, raw.__func__, "method"))
        return _callable_wrapper(layer, raw, "proxy")
    if type(raw) is types.MethodType and raw.__self__ is not None:
        return _unbound(_callable_wrapper(layer, raw, "fixed", raw.__self__), raw)
    if type(raw) in _ROUTINES:
        return _unbound(_callable_wrapper(layer, raw, "fixed"), raw)
    return _callable_wrapper(layer, raw, "proxy")


def install(owner, name, hookpoint):
    """Replace ``owner.name`` by a wrapper whose calls go through ``hookpoint.call``; return ``undo``.

    ``owner`` is a module, a class or an instance. On a class the wrapper
    mirrors the kind of the class ``__dict__`` entry (function, staticmethod,
    classmethod or anything else); an inherited attribute is wrapped on
    ``owner`` only. Raises AttributeError or TypeError when the attribute is
    missing or cannot be set (methods of C types: see ``_wrapsub``).
    ``undo()`` never raises and may be called any number of times.
    """
    with locked():
        raw, inherited = _find(owner, name)
        top = _installed.get(id(raw))
        if top is not None and top.hookpoint is _OFF and top.installed is raw and not inherited:
            _restore(top)  # a switched-off layer of ours: take it away instead of stacking on it
            raw, inherited = _find(owner, name)
        layer = _Layer(owner, name, hookpoint)
        layer.original = _MISSING if inherited else raw
        layer.inherited = inherited
        installed = _build(layer, raw, _isclass(owner))
        setattr(owner, name, installed)
        layer.installed = installed
        _installed[id(installed)] = layer
        if isinstance(owner, types.ModuleType):
            _pickle_from(installed, owner)

    def undo():
        _remove(layer)

    return undo


def _restore(layer):
    """Put back what the layer replaced (the layer is on top)."""
    _installed.pop(id(layer.installed), None)
    _changed(layer, hookpoint=_GONE)
    if layer.inherited:
        delattr(layer.owner, layer.name)
    else:
        setattr(layer.owner, layer.name, layer.original)


def _layer_above(layer):
    """Our layer whose target is ``layer``'s installed object, if any."""
    for other in _installed.values():
        if other.owner is layer.owner and other.name == layer.name and other is not layer \
                and not other.inherited and other.original is layer.installed:
            return other
    return None


def _remove(layer):
    try:
        with locked():
            if _installed.get(id(layer.installed)) is not layer:
                return  # already removed
            if _current(layer) is layer.installed:
                _restore(layer)
                return
            above = _layer_above(layer)
            if above is not None:  # splice ours out of our own stack
                _installed.pop(id(layer.installed), None)
                _changed(layer, hookpoint=_GONE)
                above.original = layer.original
                above.inherited = layer.inherited
                _changed(above, target=layer.target)
                return
            # Someone else wrapped on top of us: switch our layer off, it calls straight through.
            _changed(layer, hookpoint=_OFF)
    except Exception:
        log_once("instrumentation.wrappers.undo", "sqreen: could not remove the wrapper of %r",
                 layer.name, exc_info=True)
