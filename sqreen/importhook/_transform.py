"""Turn a module's source into code rewritten by the registered AST transformers.

The import hook calls :func:`get_code` for a module loaded from a ``.py`` file
that has transformers; it runs the code it gets back in the module's
namespace, or loads the module untransformed when it gets None.

Each transformer is called as ``transform(tree, module_name, filename)`` and
returns the tree to compile (returning None means "I changed ``tree`` in
place"). A transformer that raises, or whose output does not compile, makes
the whole module load untransformed, with one warning per transformer set:
a half-applied rewrite is worse than none.

Rules for transformers, so that the rewritten module looks like the source:

- keep the original nodes' locations; give injected nodes the location of an
  original node (:func:`sqreen._astedit.snippet` does it), so tracebacks,
  ``inspect`` and line numbers still point at the source file;
- inject statements with :func:`sqreen._astedit.insert_at_top`, which keeps
  the docstring and ``from __future__`` imports first;
- never bind a new module global: injected code reaches its helpers through
  ``__import__("pkg.mod", None, None, ["attr"], 0).attr`` (an expression, so
  nothing appears in ``dir(module)`` or ``import *`` and nothing is left to
  clean up after the module body ran). That costs one ``sys.modules`` lookup
  each time the expression runs, so keep it out of hot loops, or run it once
  at import time.

Rewritten code is cached on disk (see :mod:`sqreen.importhook._cache`), keyed
by the source digest, the module name and path, this engine's version and
each transformer's prefix, identity (module and qualified name) and version:
a transformer must bump its version whenever its output for the same source
changes, and must not count on being called: on a cache hit it is not, so
whatever it wants done at import time belongs in the code it injects.
"""
import io
import sys

from sqreen import _log
from sqreen.importhook import _cache

#: Part of every cache key and file name; bump when this module's output changes.
ENGINE_VERSION = 1


def _identity(transform):
    """A name for ``transform`` that is the same in every process (no addresses)."""
    if not hasattr(transform, "__name__"):  # a callable instance: name its class
        transform = type(transform)
    qualname = getattr(transform, "__qualname__", None) or transform.__name__
    return "%s.%s" % (getattr(transform, "__module__", None) or "?", qualname)


def describe(transformers):
    """Human-readable identities of ``transformers``, for messages."""
    return ", ".join("%s@%s" % (_identity(t.transform), t.version) for t in transformers)


def transformer_key(fullname, filename, transformers):
    """The cache key digest for this module under these transformers."""
    parts = ["engine=%d" % ENGINE_VERSION, "optimize=%d" % sys.flags.optimize, fullname, filename]
    for t in transformers:
        parts.extend([t.prefix, _identity(t.transform), str(t.version)])
    return _cache.digest(b"\n".join(_as_bytes(part) for part in parts))


def _as_bytes(text):
    if isinstance(text, bytes):  # a 2.7 str, e.g. a path in the file system's encoding
        return text
    # surrogateescape: a 3.x path with bytes undecodable in the file system's encoding
    return text.encode("utf-8", "surrogateescape" if sys.version_info[0] >= 3 else "strict")


def _compile(source, filename, flags):
    # dont_inherit: the agent's own __future__ flags must not leak into the app's code.
    return compile(source, filename, "exec", flags, True)


def _compile_tree(ast, tree, filename):
    """Compile ``tree``, filling in locations a transformer left out if the compiler needs them.

    Walking the whole tree costs about as much as compiling it, so it is done
    only when the first attempt fails.
    """
    try:
        return _compile(tree, filename, 0)
    except (TypeError, ValueError):
        ast.fix_missing_locations(tree)
        return _compile(tree, filename, 0)


def get_code(fullname, filename, transformers):
    """The module's code rewritten by ``transformers``, or None to load it untransformed."""
    try:
        return _get_code(fullname, filename, transformers)
    except Exception:
        _log.log_once(
            "importhook.transform.internal",
            "sqreen: could not transform module %s; loading it unchanged",
            fullname,
            exc_info=True,
        )
        return None


def _get_code(fullname, filename, transformers):
    try:
        with io.open(filename, "rb") as f:
            source = f.read()
    except (IOError, OSError):  # e.g. a module inside a zip file: only plain files are transformed
        _log.log_once(
            "importhook.transform.no_source",
            "sqreen: cannot read the source file of module %s (%s); loading it unchanged",
            fullname,
            filename,
            exc_info=True,
        )
        return None
    source_digest = _cache.digest(source)
    key = transformer_key(fullname, filename, transformers)
    path = _cache.cache_path(filename, key, ENGINE_VERSION)
    if path is not None:
        code = _cache.load(path, source_digest, key)
        if code is not None:
            return code
    import ast  # only on a cache miss: a warm import does not pay for loading it

    try:
        tree = _compile(source, filename, ast.PyCF_ONLY_AST)
    except (SyntaxError, ValueError, TypeError):
        return None  # the original loader raises the same error for the app to see
    for transformer in transformers:
        try:
            result = transformer.transform(tree, fullname, filename)
            if result is not None and not isinstance(result, ast.Module):
                raise TypeError("a transformer must return an ast.Module or None, not %r" % type(result))
        except Exception:
            _log.log_once(
                "importhook.transform.failed:%s" % describe([transformer]),
                "sqreen: transformer %s failed on module %s; loading it unchanged",
                describe([transformer]),
                fullname,
                exc_info=True,
            )
            return None
        if result is not None:
            tree = result
    try:
        code = _compile_tree(ast, tree, filename)
    except Exception:
        _log.log_once(
            "importhook.transform.compile:%s" % describe(transformers),
            "sqreen: transformers %s produced code that does not compile for module %s; "
            "loading it unchanged",
            describe(transformers),
            fullname,
            exc_info=True,
        )
        return None
    if path is not None:
        _cache.store(path, source_digest, key, code)
    return code
