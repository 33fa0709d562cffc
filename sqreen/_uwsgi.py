"""Check that uWSGI runs Python the way the agent needs, and say plainly what is missing.

uWSGI's defaults suit single-threaded apps without background work: no
threads for Python code, sub-interpreters, no Python-level fork hooks in
workers, and apps loaded once in the master then forked. Each of these
breaks a part of the agent (its reporter thread, its per-process state, its
after-fork reset), so each missing option gets one warning naming the fix.
:func:`check` is a pure function of ``uwsgi.opt``.
"""
import sys
import threading

_FALSE = ("", "0", "false", "no", "off")

_POSTFORK_HINT = (
    "or keep preloading and call sqreen.start() in each worker from a function decorated "
    "with @uwsgidecorators.postfork"
)


def _value(opt, key):
    """The option's value as text ('' when absent); flags and lists are reduced to one value."""
    value = opt.get(key)
    if value is None:
        value = opt.get(key.encode("ascii"))
    if isinstance(value, list):
        value = value[-1] if value else None
    if value is None or value is False:
        return ""
    if value is True:
        return "true"
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip().lower()


def _enabled(opt, key):
    return _value(opt, key) not in _FALSE


def _threads(opt):
    try:
        return int(_value(opt, "threads") or 0)
    except ValueError:
        return 0


def check(opt):
    """Warnings (one line each) for the options in ``opt`` that the agent needs and lacks."""
    warnings = []
    if not _enabled(opt, "enable-threads") and _threads(opt) < 1:
        warnings.append(
            "uWSGI runs without --enable-threads: the agent's reporter thread cannot run; "
            "add --enable-threads"
        )
    if not _enabled(opt, "single-interpreter"):
        warnings.append(
            "uWSGI runs without --single-interpreter: the agent does not support sub-interpreters; "
            "add --single-interpreter"
        )
    if not _enabled(opt, "py-call-osafterfork"):
        warnings.append(
            "uWSGI runs without --py-call-osafterfork: workers skip Python's after-fork hooks, so the "
            "agent cannot reset its state in them; add --py-call-osafterfork"
        )
    if _enabled(opt, "master") and not (_enabled(opt, "lazy-apps") or _enabled(opt, "lazy")):
        warnings.append(
            "uWSGI runs with --master without --lazy-apps: the app (and the agent) load once in the "
            "master and workers are forked from it; add --lazy-apps, " + _POSTFORK_HINT
        )
    return warnings


def current_opt():
    """``uwsgi.opt`` when running inside uWSGI, else None (never imports anything)."""
    module = sys.modules.get("uwsgi")
    opt = getattr(module, "opt", None)
    return opt if isinstance(opt, dict) else None


def is_uwsgi_command(argv):
    """Whether the command line is the uWSGI server's own (``uwsgi``, ``/usr/bin/uwsgi-core`` ...)."""
    return bool(argv) and argv[0].replace("\\", "/").rsplit("/", 1)[-1].lower().startswith("uwsgi")


class _Watcher(object):
    """A meta-path entry that finds nothing: it waits for uWSGI's module, then calls back once.

    uWSGI creates its ``uwsgi`` module after Python's start-up, so a bootstrap
    that starts the agent from ``sitecustomize`` cannot read the options yet;
    the next import after the module appears is a safe moment to. Once fired
    it stays in ``sys.meta_path``, inert: leaving the list while the import
    system walks it would make that import skip the next finder.
    """

    def __init__(self, callback):
        self.callback = callback
        self.lock = threading.Lock()

    def _poll(self):
        if self.callback is None:
            return
        opt = current_opt()
        if opt is None:
            return
        with self.lock:
            callback, self.callback = self.callback, None
        if callback is not None:
            callback(opt)

    def find_spec(self, name, path=None, target=None):
        self._poll()

    def find_module(self, name, path=None):
        self._poll()


def when_options_known(callback, cmdline):
    """Call ``callback(uwsgi.opt)`` now under uWSGI, later if uWSGI has not made its module yet.

    ``cmdline`` is the process's command line (to recognise uWSGI before its module exists).
    Returns True when the callback ran or is pending.
    """
    opt = current_opt()
    if opt is not None:
        callback(opt)
        return True
    if is_uwsgi_command(cmdline):
        sys.meta_path.insert(0, _Watcher(callback))
        return True
    return False
