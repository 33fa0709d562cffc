"""The Python 3 meta-path finder and the loader wrappers it hands out.

For a watched name the finder asks the other ``sys.meta_path`` entries for
the real spec (directly: going back through ``importlib`` from inside a
finder re-enters the import locks) and swaps in a thin wrapper around the
real loader. When the module is executed the wrapper puts the real loader
back on the module and its spec first, so the module body and everything
after it see exactly what the real loader would have given them; then it runs
the callbacks. Every other name is declined with one set lookup.
"""
import sys

from sqreen.importhook import _registry
from sqreen.importhook._registry import log_once
from sqreen.importhook._common import Delegating, guarded, transformed_code

_watched = _registry.watched
_prefixes = _registry.prefixes
_FINDER_MARKER = _registry.FINDER_MARKER
_LOADER_MARKER = _registry.LOADER_MARKER
# Python 3.12 dropped the find_module() fallback from the import system.
_LEGACY_FINDERS = sys.version_info < (3, 12)


class Finder(object):
    """Meta-path finder that intercepts only watched module names."""

    _sqreen_importhook_finder = True

    def find_spec(self, fullname, path=None, target=None):
        """Decline unwatched names at once; wrap the real loader of watched ones."""
        if fullname not in _watched and not (_prefixes[0] and fullname.startswith(_prefixes[0])):
            return None
        return _find_watched(self, fullname, path, target)

    def __repr__(self):
        return "<sqreen.importhook finder>"


def _find_watched(finder, fullname, path, target):
    try:
        if not _registry.is_watched(fullname):
            return None
        spec = guarded(fullname, _real_spec, fullname, path, target)
        if spec is None or spec.loader is None:  # not found, or a namespace package
            return spec
        spec.loader = wrap_loader(spec.loader, spec)
        return spec
    except ImportError:
        raise  # a finder's own verdict, as the import system would have seen it
    except Exception:
        log_once("importhook.find_spec", "sqreen: import hook failed to find %s", fullname, exc_info=True)
        return None


def _real_spec(fullname, path, target):
    """The spec the rest of ``sys.meta_path`` gives, as the import system would get it."""
    for other in list(sys.meta_path):
        if getattr(other, _FINDER_MARKER, False) is True:
            continue
        find_spec = getattr(other, "find_spec", None)
        if find_spec is not None:
            spec = find_spec(fullname, path, target)
        elif _LEGACY_FINDERS and hasattr(other, "find_module"):
            spec = _legacy_spec(other, fullname, path)
        else:
            continue
        if spec is not None:
            return spec
    return None


def _legacy_spec(finder, fullname, path):
    import importlib.util

    loader = finder.find_module(fullname, path)
    if loader is None:
        return None
    return importlib.util.spec_from_loader(fullname, loader)


def unwrap(loader):
    """The real loader under any of our wrappers."""
    while getattr(loader, _LOADER_MARKER, False) is True:
        loader = loader.__dict__["_real"]
    return loader


def wrap_loader(loader, spec):
    """Our wrapper around ``loader`` (never a wrapper around a wrapper)."""
    loader = unwrap(loader)
    cls = ExecLoader if hasattr(loader, "exec_module") else LegacyLoader
    return cls(loader, spec)


class _Wrapper(Delegating):
    """A real loader and the spec it was found with."""

    def __init__(self, real, spec):
        Delegating.__init__(self, real)
        self.__dict__["_spec"] = spec

    def __repr__(self):
        return "<sqreen.importhook loader for %r>" % (self.__dict__["_real"],)

    def _restore(self, module):
        """Give the real loader back to the spec and the module, where we stand."""
        real = self.__dict__["_real"]
        spec = self.__dict__["_spec"]
        if getattr(spec, "loader", None) is self:
            spec.loader = real
        try:
            module_spec = module.__dict__.get("__spec__")
            if module_spec is not None and getattr(module_spec, "loader", None) is self:
                module_spec.loader = real
            if module.__dict__.get("__loader__") is self:
                module.__loader__ = real
        except Exception:
            log_once("importhook.restore", "sqreen: cannot restore the loader of %r", module, exc_info=True)


class ExecLoader(_Wrapper):
    """Wrapper for loaders with the ``create_module`` / ``exec_module`` protocol."""

    def create_module(self, spec):
        create = getattr(self.__dict__["_real"], "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module):
        name = self.__dict__["_spec"].name
        self._restore(module)
        _registry.begin_loading(name)
        try:
            code = self._transformed_code(name)
            if code is None:
                self.__dict__["_real"].exec_module(module)
            else:
                exec(code, module.__dict__)
        finally:
            hooks = _registry.end_loading(name)
        _registry.run_callbacks(name, module, hooks)

    def _transformed_code(self, name):
        """The transformed code for a watched ``.py`` module, or None to run it as is."""
        spec = self.__dict__["_spec"]
        origin = spec.origin
        if not (spec.has_location and isinstance(origin, str) and origin.endswith(".py")):
            return None
        return transformed_code(name, origin)


class LegacyLoader(_Wrapper):
    """Wrapper for loaders that only have ``load_module`` (e.g. zipimport before 3.10)."""

    def load_module(self, fullname):
        spec = self.__dict__["_spec"]
        if getattr(spec, "loader", None) is self:
            # The import system reads the spec's loader after this returns to
            # fill a missing __loader__: make it the real one.
            spec.loader = self.__dict__["_real"]
        _registry.begin_loading(fullname)
        try:
            module = self.__dict__["_real"].load_module(fullname)
        finally:
            hooks = _registry.end_loading(fullname)
        self._restore(module)
        _registry.run_callbacks(fullname, module, hooks)
        return module
