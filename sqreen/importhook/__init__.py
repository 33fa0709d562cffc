"""Run code when chosen modules are imported: the agent's import-hook engine.

Integrations register a callback for the module they patch
(``register("sqlite3", patch)`` or ``@when_imported("sqlite3")``) and,
for modules loaded from source, may register an AST transformer. The engine
puts one finder at the front of ``sys.meta_path``; it declines every import
it has no registration for with a single set lookup, and for a watched module
it asks the other finders for the real spec and wraps the loader just long
enough to run the callbacks once the module body has completed.

Registrations are shared by every copy of this package in the interpreter,
and installing twice leaves one finder.
"""
import sys

from sqreen.importhook import _registry
from sqreen.importhook._registry import Transformer  # noqa: F401 (public record type)

__all__ = ["install", "uninstall", "is_installed", "register", "when_imported", "register_transformer"]


def _finder_class():
    if sys.version_info[0] >= 3:
        from sqreen.importhook._finder import Finder
    else:
        from sqreen.importhook._finder2 import Finder
    return Finder


def _ours(finder):
    try:
        return getattr(finder, _registry.FINDER_MARKER, False) is True
    except Exception:
        return False


def install():
    """Put the finder at the front of ``sys.meta_path`` (no-op if one is there).

    A finder installed by another copy of the package counts: there is only
    ever one. Returns the finder in place.
    """
    with _registry.locked():
        for finder in sys.meta_path:
            if _ours(finder):
                return finder
        finder = _finder_class()()
        sys.meta_path.insert(0, finder)
        return finder


def uninstall():
    """Take every engine finder out of ``sys.meta_path``.

    Registrations are kept (a later ``install()`` honours them); patches that
    callbacks already made are their owners' to undo.
    """
    with _registry.locked():
        sys.meta_path[:] = [f for f in sys.meta_path if not _ours(f)]


def is_installed():
    """Whether an engine finder is in ``sys.meta_path``."""
    return any(_ours(f) for f in sys.meta_path)


def register(name, callback):
    """Call ``callback(module)`` after module ``name`` is imported.

    The callback runs once per execution of the module body, after the body
    has completed and before the triggering import returns; at once if the
    module is already in ``sys.modules``. Several callbacks on one module run
    in registration order. An exception in a callback is logged once and the
    import goes on. Returns a handle whose ``remove()`` unregisters it.
    """
    return _registry.add_callback(name, callback)


def when_imported(name):
    """Decorator form of :func:`register`; returns the function unchanged."""

    def decorate(callback):
        register(name, callback)
        return callback

    return decorate


def register_transformer(name_or_prefix, transform, version):
    """Rewrite the AST of ``name_or_prefix`` and its submodules before compilation.

    ``transform(tree, module_name, filename)`` returns the new tree; it is
    applied only to modules loaded from ``.py`` source. ``version`` names the
    transform's behaviour (it keys the code cache: change it when the
    transform changes). Returns a handle whose ``remove()`` unregisters it.
    """
    return _registry.add_transformer(name_or_prefix, transform, version)
