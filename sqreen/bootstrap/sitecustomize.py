"""Bootstrap run by Python's ``site`` at start-up in processes launched with ``sqreen-start``.

It takes itself off ``sys.path``, runs the ``sitecustomize`` it shadows
(the user's, a distribution's, another agent's) exactly once, then starts
the agent, but only in an interpreter matching the one ``sqreen-start``
recorded: an unrelated Python launched with the same environment is left
alone and imports nothing of the agent. It imports no network module and
starts no thread, so a later ``gevent.monkey.patch_all()`` finds nothing to
complain about.

Python 2.7 and 3 syntax alike: any interpreter may read this file. Imported
under another name (``sqreen.bootstrap.sitecustomize``) it only provides
:func:`interpreter_tag`.
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
#: Set by ``sqreen-start`` to :func:`interpreter_tag`; the bootstrap acts only in a matching interpreter.
ENV_TAG = "SQREEN_BOOTSTRAP_PYTHON"


def interpreter_tag():
    """Implementation and version, e.g. ``cpython-3.11``: the interpreter the agent was launched for."""
    impl = getattr(sys, "implementation", None)
    if impl is not None:
        name = impl.name
    else:
        name = "pypy" if "__pypy__" in sys.builtin_module_names else "cpython"
    return "%s-%d.%d" % (name, sys.version_info[0], sys.version_info[1])


def _same_dir(entry):
    try:
        return os.path.abspath(entry or os.curdir) == _HERE
    except Exception:
        return False


def _find_next():
    """Whether another ``sitecustomize`` exists on ``sys.path`` (this directory already removed)."""
    if sys.version_info[0] >= 3:
        from importlib.machinery import PathFinder

        return PathFinder.find_spec("sitecustomize", sys.path) is not None
    import imp

    try:
        found = imp.find_module("sitecustomize", sys.path)
    except ImportError:
        return False
    if found[0] is not None:
        found[0].close()
    return True


def _run_next():
    """Import the shadowed ``sitecustomize`` in place of this one, reporting errors the way ``site`` does."""
    if not _find_next():
        return
    import importlib

    this = sys.modules.pop("sitecustomize", None)
    # Keep this module referenced: Python 2 empties a dropped module's globals while its code still runs.
    sys.modules["_sqreen_bootstrap_sitecustomize"] = this
    try:
        importlib.import_module("sitecustomize")
    except Exception as exc:
        sys.modules.pop("sitecustomize", None)
        if this is not None:
            sys.modules["sitecustomize"] = this
        sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n%s: %s\n"
                         % (type(exc).__name__, exc))


def _import_agent():
    """The ``sqreen`` package this bootstrap belongs to (unless the app's path already has one)."""
    root = os.path.dirname(os.path.dirname(_HERE))
    sys.path.insert(0, root)
    try:
        import sqreen
    finally:
        sys.path.remove(root)
    return sqreen


def _main():
    sys.path[:] = [entry for entry in sys.path if not _same_dir(entry)]
    _run_next()
    if os.environ.get(ENV_TAG) != interpreter_tag():
        return
    try:
        _import_agent().start()
    except Exception as exc:  # never stop the application from starting
        sys.stderr.write("sqreen: bootstrap failed: %s: %s\n" % (type(exc).__name__, exc))


if __name__ == "sitecustomize":
    _main()
