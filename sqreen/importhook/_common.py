"""What the Python 3 and Python 2 finders share: the re-entry guard and the transform call."""
from sqreen.importhook import _registry
from sqreen.importhook._registry import log_once


def guarded(fullname, find, *args):
    """``find(*args)`` unless this thread is already resolving ``fullname``.

    A finder behind ours may itself import or look up the name it is asked
    about; on that re-entry the engine stands aside (returns None) so the
    lookup proceeds as if it were not installed.
    """
    busy = getattr(_registry.local, "names", None)
    if busy is None:
        busy = _registry.local.names = set()
    if fullname in busy:
        return None
    busy.add(fullname)
    try:
        return find(*args)
    finally:
        busy.discard(fullname)


def transformed_code(fullname, filename):
    """Code for source file ``filename`` rewritten by the matching transformers, or None.

    None means: load the module as the real loader would (no transformer
    applies, the transform module is absent, or it failed and warned).
    """
    transformers = _registry.transformers_for(fullname)
    if not transformers:
        return None
    try:
        from sqreen.importhook import _transform
    except ImportError:
        return None
    try:
        return _transform.get_code(fullname, filename, transformers)
    except Exception:
        log_once(
            "importhook.transform", "sqreen: cannot transform %s, loading it as is", fullname, exc_info=True
        )
        return None


class Delegating(object):
    """Base of the engine's loader wrappers: what it does not define, the real loader answers."""

    _sqreen_importhook_loader = True

    def __init__(self, real):
        self.__dict__["_real"] = real

    def __getattr__(self, name):
        try:
            real = self.__dict__["_real"]
        except KeyError:  # half-built (copy, pickle): no real loader to ask
            raise AttributeError(name)
        return getattr(real, name)
