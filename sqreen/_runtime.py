"""The agent's lifecycle: start once, stop on demand, begin afresh after a fork.

``start()`` reads the configuration, decides whether this process should be
protected at all (disabled, non-web), then installs the import hook,
registers the integrations and starts the reporter. It never raises into the
application and never waits on the network: a failing part is logged once
and the agent carries on without it (or stays off).

A disabled agent imports only this module and the configuration reader:
not even ``logging`` (nor ``threading``), which cost more than the rest.
"""
import os
import sys

try:
    from _thread import allocate_lock
except ImportError:  # Python 2
    from thread import allocate_lock

STOPPED = "stopped"
RUNNING = "running"
DISABLED = "disabled"
SKIPPED = "skipped"  # a non-web process
FAILED = "failed"

_lock = allocate_lock()
_state = {
    "status": STOPPED,
    "pid": os.getpid(),
    "config": None,
    "reason": None,  # why the agent is not running, in words
    "hook": None,  # the importhook module when the hook is installed
    "handles": [],  # the integrations' registrations with the import hook
    "reporter": None,  # the _reporter module when it was started
    "fork_hook": False,
}


def status():
    """STOPPED, RUNNING, DISABLED, SKIPPED or FAILED, for this process."""
    _check_pid()
    return _state["status"]


def config():
    """The configuration the agent last started with, or None."""
    return _state["config"]


def start():
    """Start the agent once per process; return True when it runs. Never raises."""
    try:
        _check_pid()
        if _state["status"] != STOPPED:  # fast path, no lock
            return _state["status"] == RUNNING
        with _lock:
            if _state["status"] == STOPPED:
                _start_locked()
            return _state["status"] == RUNNING
    except Exception:
        from sqreen import _log

        _log.log_once("runtime:start", "sqreen: the agent failed to start; the application goes on "
                      "without it", exc_info=True)
        try:
            with _lock:
                _stop_locked(0)  # take back what was done before the failure
        except Exception:
            pass
        _state["status"] = FAILED
        return False


def stop(timeout=None):
    """Undo what :func:`start` did (hook, reporter), flushing for up to ``timeout`` seconds."""
    try:
        _check_pid()
        with _lock:
            _stop_locked(timeout)
    except Exception:
        from sqreen import _log

        _log.log_once("runtime:stop", "sqreen: error while stopping the agent", exc_info=True)


def _start_locked():
    from sqreen import _config

    cfg = _config.load()
    _state["config"] = cfg
    if cfg.disable:
        _state["status"] = DISABLED
        _state["reason"] = "disabled by configuration (%s)" % cfg.sources["disable"]
        if not cfg.errors and cfg.log_level != "debug":
            return  # the quiet, cheap way out
    import logging
    from sqreen import _log

    _setup_logging(cfg)
    for error in cfg.errors:
        _log.log_once("config:" + error, "sqreen: configuration error: %s (using the default)", error)
    if cfg.disable:
        _log.log_once("runtime:disabled", "sqreen: %s", _state["reason"], level=logging.DEBUG)
        return
    if not cfg.force_start:
        from sqreen import _nonweb

        why = _nonweb.detect()
        if why:
            _set_off(SKIPPED, "not started in a non-web process: %s "
                     "(set SQREEN_FORCE_START=1 to start anyway)" % why, logging.INFO)
            return
    _check_uwsgi()
    _register_fork_hook()
    hook = _optional("sqreen.importhook")
    if hook is not None:
        from sqreen import _integrations

        _state["hook"] = hook
        hook.install()
        _state["handles"] = _integrations.register_all(hook.register)
    reporter = _optional("sqreen._reporter")
    if reporter is not None:
        try:
            reporter.start(cfg)
            _state["reporter"] = reporter
        except Exception:
            _log.log_once("runtime:reporter", "sqreen: the reporter failed to start; no events will be "
                          "reported", exc_info=True)
    _state["status"] = RUNNING
    _state["reason"] = None
    _log.logger.debug("sqreen: agent started (mode %s)", cfg.mode)


def _stop_locked(timeout):
    from sqreen import _log

    hook, reporter, handles = _state["hook"], _state["reporter"], _state["handles"]
    _state.update(status=STOPPED, hook=None, reporter=None, reason=None, handles=[])
    if hook is not None:
        try:
            for handle in handles:
                handle.remove()
            hook.uninstall()
        except Exception:
            _log.log_once("runtime:uninstall", "sqreen: cannot uninstall the import hook", exc_info=True)
    if reporter is not None:
        cfg = _state["config"]
        if timeout is None:
            timeout = cfg.flush_timeout if cfg is not None else 2.0
        try:
            reporter.stop(timeout)
        except Exception:
            _log.log_once("runtime:reporter-stop", "sqreen: error while stopping the reporter",
                          exc_info=True)


def _set_off(status_, reason, level):
    from sqreen import _log

    _state["status"] = status_
    _state["reason"] = reason
    _log.log_once("runtime:" + status_, "sqreen: %s", reason, level=level)


def _optional(name):
    """Import one of the agent's own parts, or log once and return None when it is unavailable."""
    from sqreen import _log

    try:
        __import__(name)
    except ImportError as exc:
        _log.log_once("runtime:missing:" + name, "sqreen: %s is unavailable (%s); the agent runs without it",
                      name, exc)
        return None
    return sys.modules[name]


def _check_uwsgi():
    from sqreen import _log, _nonweb, _uwsgi

    def warn(opt):
        try:
            for warning in _uwsgi.check(opt):
                _log.log_once("uwsgi:" + warning, "sqreen: %s", warning)
        except Exception:
            _log.log_once("runtime:uwsgi", "sqreen: cannot check the uWSGI options", exc_info=True)

    _uwsgi.when_options_known(warn, _nonweb.read_cmdline() or [])


def _setup_logging(cfg):
    """Apply ``log_level`` if set; send the agent's lines to stderr while the app configures no logging."""
    import logging
    from sqreen import _log

    class FallbackHandler(logging.StreamHandler):
        """Writes only while the application has configured no logging of its own."""

        sqreen_fallback = True

        def emit(self, record):
            if not logging.getLogger().handlers:
                logging.StreamHandler.emit(self, record)

    logger = _log.logger
    if cfg.sources["log_level"] != "default":
        logger.setLevel(cfg.log_level.upper())
    if not any(getattr(h, "sqreen_fallback", False) for h in logger.handlers):
        logger.addHandler(FallbackHandler(sys.stderr))


def _check_pid():
    """Python 2 has no fork hooks: notice a fork when the runtime is next touched."""
    if _state["pid"] != os.getpid():
        _after_fork_in_child()


def _register_fork_hook():
    if _state["fork_hook"]:
        return
    _state["fork_hook"] = True
    register = getattr(os, "register_at_fork", None)
    if register is not None:
        register(after_in_child=_after_fork_in_child)


def _after_fork_in_child():
    """Forget the parent's per-process state: its lock (maybe held at fork time), its error counters.

    The reporter and the import hook see to their own state after a fork.
    """
    global _lock
    _lock = allocate_lock()
    _state["pid"] = os.getpid()
    log = sys.modules.get("sqreen._log")  # no import here: it could block in a child of a threaded parent
    if log is not None:
        log.reset()
