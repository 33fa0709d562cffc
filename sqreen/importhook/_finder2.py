"""The Python 2.7 meta-path finder (legacy ``find_module`` / ``load_module``).

Python 2 has no path-based finder on ``sys.meta_path``: after the meta-path
entries, the import statement walks ``sys.path`` with the path hooks and
falls back to its built-in file-system search. For a watched name this
finder asks the other meta-path entries, then does that same walk itself
without importing anything, and returns a loader that runs the real one and
then the callbacks. Every other name is declined with one set lookup.
"""
import imp
import os
import pkgutil
import sys

from sqreen.importhook import _registry
from sqreen.importhook._registry import log_once
from sqreen.importhook._common import Delegating, guarded, transformed_code

_watched = _registry.watched
_prefixes = _registry.prefixes
_FINDER_MARKER = _registry.FINDER_MARKER


class Finder(object):
    """Meta-path finder that intercepts only watched module names."""

    _sqreen_importhook_finder = True

    def find_module(self, fullname, path=None):
        """Decline unwatched names at once; wrap the real loader of watched ones."""
        if fullname not in _watched and not (_prefixes[0] and fullname.startswith(_prefixes[0])):
            return None
        return _find_watched(fullname, path)

    def __repr__(self):
        return "<sqreen.importhook finder>"


def _find_watched(fullname, path):
    try:
        if not _registry.is_watched(fullname):
            return None
        loader = guarded(fullname, _real_loader, fullname, path)
        return None if loader is None else Loader(loader)
    except ImportError:
        raise
    except Exception:
        log_once("importhook.find_module", "sqreen: import hook failed to find %s", fullname, exc_info=True)
        return None


def _real_loader(fullname, path):
    for other in list(sys.meta_path):
        if getattr(other, _FINDER_MARKER, False) is True:
            continue
        find_module = getattr(other, "find_module", None)
        loader = None if find_module is None else find_module(fullname, path)
        if loader is not None:
            return loader
    return _path_loader(fullname, path)


def _path_loader(fullname, path):
    """The loader the built-in import would use after the meta path, found without importing."""
    subname = fullname.rpartition(".")[2]
    if path is None:
        if "." in fullname:
            return None
        if imp.is_builtin(fullname) or imp.is_frozen(fullname):
            return _imp_loader(fullname, subname, None)
        path = sys.path
    for entry in list(path):
        importer = _importer(entry)
        if importer is not None:
            loader = importer.find_module(fullname)
            if loader is not None:
                return loader
            continue
        loader = _imp_loader(fullname, subname, [entry])
        if loader is not None:
            return loader
    return None


def _importer(entry):
    """The path hook's importer for ``entry`` (None: the built-in file search)."""
    try:
        return sys.path_importer_cache[entry]
    except KeyError:
        pass
    importer = None
    for hook in sys.path_hooks:
        try:
            importer = hook(entry)
            break
        except ImportError:
            continue
    sys.path_importer_cache.setdefault(entry, importer)
    return importer


def _imp_loader(fullname, subname, path):
    try:
        found = imp.find_module(subname, path)
    except ImportError:
        return None
    return pkgutil.ImpLoader(fullname, *found)


class Loader(Delegating):
    """Runs the real loader, then the callbacks; transforms watched ``.py`` sources."""

    def load_module(self, fullname):
        _registry.begin_loading(fullname)
        try:
            source = self._source_path()
            code = transformed_code(fullname, source) if source else None
            if code is None:
                module = self._real.load_module(fullname)
            else:
                module = _exec_source(fullname, code, source, self._real)
        finally:
            hooks = _registry.end_loading(fullname)
        _registry.run_callbacks(fullname, module, hooks)
        return module

    def _source_path(self):
        """The ``.py`` file a built-in file-system load would execute, if any."""
        real = self._real
        if not isinstance(real, pkgutil.ImpLoader):
            return None
        kind = real.etc[2]
        if kind == imp.PY_SOURCE:
            return real.filename
        if kind == imp.PKG_DIRECTORY:
            init = os.path.join(real.filename, "__init__.py")
            return init if os.path.isfile(init) else None
        return None


def _exec_source(fullname, code, filename, real):
    """Execute ``code`` as the built-in import would execute that source file."""
    if real.file is not None:
        real.file.close()
    module = sys.modules.get(fullname)
    fresh = module is None
    if fresh:
        module = imp.new_module(fullname)
        sys.modules[fullname] = module
    module.__file__ = filename
    if real.etc[2] == imp.PKG_DIRECTORY:
        module.__path__ = [real.filename]
    try:
        exec(code, module.__dict__)
    except BaseException:
        if fresh:
            sys.modules.pop(fullname, None)
        raise
    return sys.modules[fullname]
