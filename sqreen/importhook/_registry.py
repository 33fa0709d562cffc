"""What the import hook watches: per-module callbacks and source transformers.

The registry lives in interpreter-wide state (an attribute of ``sys``) rather
than in this module, so that two copies of the package imported under
different paths (say the repository and an installed wheel) share one set of
registrations and one finder. Readers on the import fast path only test set
membership, which needs no lock; writers take the shared lock.
"""
import sys

try:  # the C primitives: importing threading would cost the app's startup for nothing
    from _thread import RLock, _local as _Local
except ImportError:  # Python 2
    from threading import RLock, local as _Local

#: Interpreter-wide key; bump the suffix if the state's layout changes.
STATE_KEY = "_sqreen_importhook_state_v1"
#: Attribute set to True on the engine's finder and loaders, whatever copy made them.
FINDER_MARKER = "_sqreen_importhook_finder"
LOADER_MARKER = "_sqreen_importhook_loader"


class Transformer(tuple):
    """One registered source transformer, a ``(prefix, transform, version)`` tuple.

    ``prefix`` matches that module and its submodules; ``transform(tree,
    module_name, filename) -> tree`` rewrites the AST; ``version`` is part of
    the cache key of the transformed code. (A namedtuple, written out: the
    collections module would add a millisecond to the app's startup.)
    """

    __slots__ = ()

    def __new__(cls, prefix, transform, version):
        return tuple.__new__(cls, (prefix, transform, version))

    def __getnewargs__(self):
        return tuple(self)

    prefix = property(lambda self: self[0])
    transform = property(lambda self: self[1])
    version = property(lambda self: self[2])

    def __repr__(self):
        return "Transformer(prefix=%r, transform=%r, version=%r)" % tuple(self)


def _new_state():
    return {
        # Exact names with callbacks, and transformer prefixes: the fast path.
        "watched": set(),
        # A one-item list holding the tuple of transformer prefixes, for
        # str.startswith (a name starting with one is checked exactly later).
        "prefixes": [()],
        # name -> [Hook] in registration order.
        "callbacks": {},
        # [Transformer] in registration order.
        "transformers": [],
        # name -> how many of our loaders are executing that module right now.
        "loading": {},
        "lock": RLock(),
        # Per-thread set of names the finder is currently resolving.
        "local": _Local(),
    }


def shared_state():
    """The interpreter-wide registry state, created on first use."""
    state = sys.__dict__.get(STATE_KEY)
    if state is None:
        state = sys.__dict__.setdefault(STATE_KEY, _new_state())
        if state.get("fork_handler") is None:
            state["fork_handler"] = _watch_forks(state)
    return state


def _watch_forks(state):
    """Reset the lock and the in-flight loads in a forked child (where the
    threads that held them no longer exist). Not possible before 3.7."""

    def after_fork_in_child():
        reinit = getattr(state["lock"], "_at_fork_reinit", None)
        if reinit is not None:  # 3.9+
            reinit()
        else:
            state["lock"] = RLock()
        state["loading"].clear()

    import os

    register = getattr(os, "register_at_fork", None)
    if register is not None:
        register(after_in_child=after_fork_in_child)
    return after_fork_in_child


def locked():
    """The registry's lock (a context manager); taken only to change the registry."""
    return _state["lock"]


_state = shared_state()
watched = _state["watched"]
prefixes = _state["prefixes"]
_callbacks = _state["callbacks"]
_transformers = _state["transformers"]
_loading = _state["loading"]
local = _state["local"]


class Hook(object):
    """A registered post-import callback; ``remove()`` unregisters it."""

    __slots__ = ("name", "callback")

    def __init__(self, name, callback):
        self.name = name
        self.callback = callback

    def remove(self):
        """Unregister the callback (idempotent); patches it made stay."""
        with locked():
            hooks = _callbacks.get(self.name, ())
            for i, hook in enumerate(hooks):
                if hook is self:
                    del hooks[i]
                    break
            if not hooks:
                _callbacks.pop(self.name, None)
            _refresh_watched()

    def __repr__(self):
        return "<importhook callback %r on %s>" % (self.callback, self.name)


class TransformerHandle(object):
    """A registered source transformer; ``remove()`` unregisters it."""

    __slots__ = ("record",)

    def __init__(self, record):
        self.record = record

    def remove(self):
        """Unregister the transformer (idempotent); modules already loaded keep their code."""
        with locked():
            for i, record in enumerate(_transformers):
                if record is self.record:
                    del _transformers[i]
                    break
            _refresh_watched()


def _refresh_watched():
    """Recompute the fast-path sets in place (caller holds the lock)."""
    names = set(_callbacks)
    names.update(t.prefix for t in _transformers)
    # Add before discarding so that a concurrent reader never misses a name
    # that stays watched.
    watched.update(names)
    watched.intersection_update(names)
    prefixes[0] = tuple(sorted(set(t.prefix for t in _transformers)))


def _is_lazy(module):
    """True for a module made by ``importlib.util.LazyLoader`` and not loaded yet.

    Reading any attribute of such a module would load it, so only its type is
    looked at.
    """
    return type(module).__name__ == "_LazyModule"


def _awaits_our_loader(module):
    """True when one of our loaders has yet to execute ``module`` (it is in
    ``sys.modules`` already, its spec still holds our wrapper): that loader
    will run the callbacks."""
    try:
        loader = getattr(module.__dict__.get("__spec__"), "loader", None)
        return getattr(loader, LOADER_MARKER, False) is True
    except Exception:
        return False


def add_callback(name, callback):
    """Register ``callback(module)`` for module ``name``; return its Hook.

    When the module is already imported (and none of our loaders is about to
    execute it or executing it), the callback runs at once, outside the lock.
    """
    hook = Hook(name, callback)
    with locked():
        _callbacks.setdefault(name, []).append(hook)
        watched.add(name)
        module = sys.modules.get(name)
        run_now = (
            module is not None
            and not _loading.get(name)
            and not _is_lazy(module)
            and not _awaits_our_loader(module)
        )
    if run_now:
        run_callbacks(name, module, [hook])
    return hook


def add_transformer(prefix, transform, version):
    """Register a source transformer for ``prefix`` and its submodules."""
    record = Transformer(prefix, transform, version)
    with locked():
        _transformers.append(record)
        watched.add(prefix)
        prefixes[0] = tuple(sorted(set(prefixes[0]) | set([prefix])))
    return TransformerHandle(record)


def is_watched(fullname):
    """Whether the finder must intercept ``fullname`` (exact name or under a prefix)."""
    if fullname in watched:
        return True
    return bool(transformers_for(fullname))


def transformers_for(fullname):
    """The transformers whose prefix matches ``fullname``, in registration order."""
    if not prefixes[0] or not fullname.startswith(prefixes[0]):
        return []
    return [t for t in list(_transformers) if fullname == t.prefix or fullname.startswith(t.prefix + ".")]


def begin_loading(name):
    """Mark ``name`` as being executed by our loader (callbacks will follow)."""
    with locked():
        _loading[name] = _loading.get(name, 0) + 1


def end_loading(name):
    """Unmark ``name``; return the callbacks to run now, in registration order."""
    with locked():
        left = _loading.get(name, 1) - 1
        if left:
            _loading[name] = left
        else:
            _loading.pop(name, None)
        return list(_callbacks.get(name, ()))


def log_once(key, message, *args, **kwargs):
    """:func:`sqreen._log.log_once`, imported on first use (logging is slow to import)."""
    from sqreen import _log

    return _log.log_once(key, message, *args, **kwargs)


def run_callbacks(name, module, hooks):
    """Call each hook on ``module``; an error is logged once and the others still run."""
    for hook in hooks:
        try:
            hook.callback(module)
        except Exception:
            log_once(
                "importhook.callback.%s" % name,
                "sqreen: import callback %r for module %s failed",
                hook.callback,
                name,
                exc_info=True,
            )
