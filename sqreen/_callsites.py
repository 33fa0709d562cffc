"""Registry of the places where application code builds SQL, shell commands or file paths.

Opt-in. ``enable(prefixes=["myapp"])`` registers a source transformer (see
:func:`sqreen.importhook.register_transformer`) for those packages and
installs the import hook. When one of their modules is imported from
source, :mod:`sqreen._callsites_scan` looks through its AST for strings built
by concatenation, ``%``, ``.format()`` or f-strings that look like SQL or
are passed to ``execute``-like methods, ``os.system`` / ``subprocess(...,
shell=True)`` or ``open`` and file-system functions, and the transformer
adds one statement after the module's docstring and future imports::

    try:
        __import__("sqreen._callsites", None, None, ["record"], 0).record(__name__, ((12, 8, "sql"), ...))
    except Exception:
        pass

so that the sites are recorded each time the module body runs, including
when its code comes from the on-disk cache and no scan happens. The
statement binds no name, so ``dir(module)`` and ``import *`` are unchanged;
functions are not touched, so the app pays nothing at run time, and a
module without sites is compiled exactly as its source.

The agent asks :func:`sites` or :func:`kinds_at` (e.g. with the module and
line of a caller frame) to know that a call comes from such a place; the
protections will use it to prioritise. Modules imported before ``enable()``
are not scanned. Sites are ``CallSite(module, lineno, col, kind)`` where
``kind`` is ``"sql"``, ``"shell"`` or ``"path"`` and ``lineno``/``col`` are
those of the expression that builds the string.
"""
import collections
import threading

from sqreen._log import log_once

#: Version of the transformer's output; part of the import hook's cache key.
VERSION = 1
KINDS = ("sql", "shell", "path")

CallSite = collections.namedtuple("CallSite", "module lineno col kind")

_lock = threading.Lock()
_sites = {}  # module name -> tuple of CallSite
_handles = {}  # prefix -> handle of its registered transformer

_RECORD = (
    "try:\n"
    "    __import__('sqreen._callsites', None, None, ['record'], 0).record(__name__, %r)\n"
    "except Exception:\n"
    "    pass\n"
)


def transform(tree, module_name, filename):
    """The import hook transformer: add the recording statement when ``tree`` has sites."""
    from sqreen import _astedit, _callsites_scan

    found = _callsites_scan.scan(tree)
    if found:
        _astedit.insert_at_top(tree, _RECORD % (tuple(found),))
    return tree


def enable(prefixes):
    """Scan the modules of ``prefixes`` (and their submodules) imported from now on."""
    from sqreen import importhook

    with _lock:
        for prefix in prefixes:
            if prefix not in _handles:  # enabling twice must not scan (and record) twice
                _handles[prefix] = importhook.register_transformer(prefix, transform, VERSION)
    importhook.install()


def disable():
    """Stop scanning newly imported modules; what was recorded stays."""
    with _lock:
        handles = list(_handles.values())
        _handles.clear()
    for handle in handles:
        handle.remove()


def record(module, sites):
    """Called by the statement the transformer injects: replace ``module``'s sites."""
    try:
        entries = tuple(CallSite(module, line, col, kind) for line, col, kind in sites)
        with _lock:
            _sites[module] = entries
    except Exception:
        log_once(
            "callsites.record", "sqreen: could not record call sites of module %s", module, exc_info=True
        )


def sites(module=None):
    """The recorded sites of ``module``, or of every module, sorted."""
    with _lock:
        if module is not None:
            return list(_sites.get(module, ()))
        return sorted(site for entries in _sites.values() for site in entries)


def kinds_at(module, lineno):
    """The kinds of the sites on line ``lineno`` of ``module`` (an empty set if none)."""
    with _lock:
        return set(site.kind for site in _sites.get(module, ()) if site.lineno == lineno)


def clear():
    """Forget every recorded site (for tests)."""
    with _lock:
        _sites.clear()
