"""The ``sqreen`` and ``sqreen-start`` console scripts.

``sqreen doctor`` says what the agent would do here and why (configuration
and where each value came from, integrations, sitecustomize chain, uWSGI,
events file, backend); ``sqreen events`` reads the events file;
``sqreen-start CMD`` runs CMD with the agent started in its Python
processes. Exit codes: 0 fine, 1 a check failed, 2 bad usage or
configuration, 126/127 command not runnable / not found.
"""
from __future__ import print_function

import os
import sys

USAGE = """\
usage: sqreen <command> [arguments]

commands:
  demo [--serve]  attack a vulnerable demo app without, then with the agent (needs sqreen[demo])
  doctor          check the installation, the configuration in force and where it came from
  events [...]    read the events file (sqreen events --help)
  version         print the agent's version

Run an application with the agent: sqreen-start COMMAND [ARGS...]
"""

START_USAGE = """\
usage: sqreen-start COMMAND [ARGS...]

Run COMMAND (same process) with the sqreen agent started in it before the
application code. Configuration: sqreen.ini or SQREEN_* environment variables
(see: sqreen doctor).
"""


def main(argv=None):
    """Entry point of ``sqreen``; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        stream = sys.stdout if argv else sys.stderr
        stream.write(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command in ("version", "--version"):
        from sqreen import __version__

        print(__version__)
        return 0
    if command == "doctor":
        return doctor(rest)
    if command == "demo":
        from sqreen import _demo

        return _demo.main(rest)
    if command == "events":
        from sqreen import _cli_events

        return _cli_events.main(rest)
    sys.stderr.write("sqreen: unknown command %r\n%s" % (command, USAGE))
    return 2


def start_main(argv=None):
    """Entry point of ``sqreen-start``: exec the command, or return an exit code when it cannot."""
    from sqreen import _config

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        sys.stderr.write(START_USAGE)
        return 2
    if argv[0] in ("-h", "--help"):
        sys.stdout.write(START_USAGE)
        return 0
    errors = _config.load().errors
    for error in errors:
        sys.stderr.write("sqreen-start: configuration error: %s\n" % error)
    if errors:
        return 2
    path = which(argv[0])
    if path is None:
        sys.stderr.write("sqreen-start: command not found: %s\n" % argv[0])
        return 127
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(path, argv, bootstrap_environ(os.environ))
    except OSError as exc:
        sys.stderr.write("sqreen-start: cannot run %s: %s\n" % (argv[0], exc.strerror or exc))
        return 126
    return 126  # not reached: execve does not return


def bootstrap_environ(environ):
    """A copy of ``environ`` with the bootstrap directory first (once) on PYTHONPATH."""
    from sqreen.bootstrap import DIRECTORY
    from sqreen.bootstrap.sitecustomize import ENV_TAG, interpreter_tag

    env = dict(environ)
    entries = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    entries = [p for p in entries if os.path.abspath(p) != DIRECTORY]
    env["PYTHONPATH"] = os.pathsep.join([DIRECTORY] + entries)
    env[ENV_TAG] = interpreter_tag()
    return env


def which(command, path=None):
    """The executable file ``command`` names (looked up on PATH unless it has a slash), or None."""
    def runnable(candidate):
        return os.path.isfile(candidate) and os.access(candidate, os.X_OK)

    if os.sep in command:
        return command if runnable(command) else None
    path = os.environ.get("PATH", os.defpath) if path is None else path
    for directory in path.split(os.pathsep):
        candidate = os.path.join(directory or os.curdir, command)
        if runnable(candidate):
            return candidate
    return None


def doctor(argv):
    """``sqreen doctor``: print the checks; 2 on configuration errors, 1 when a check fails."""
    from sqreen import _config

    if argv:
        sys.stderr.write("usage: sqreen doctor\n")
        return 2
    cfg = _config.load()
    failed = False
    for title, lines, ok in (
        check_versions(),
        check_configuration(cfg),
        check_integrations(),
        check_sitecustomize(),
        check_uwsgi(),
        check_events_file(cfg),
        check_backend(cfg),
    ):
        print(title)
        for line in lines:
            print("  " + line)
        failed = failed or not ok
    if cfg.errors:
        return 2
    return 1 if failed else 0


# Each check returns (title, lines, ok).


def check_versions():
    import sqreen

    impl = getattr(sys, "implementation", None)
    name = impl.name if impl is not None else "cpython"
    return "versions:", [
        "python %s (%s) %s" % (sys.version.split()[0], name, sys.executable),
        "sqreen %s at %s" % (sqreen.__version__, os.path.dirname(os.path.abspath(sqreen.__file__))),
    ], True


def check_configuration(cfg):
    from sqreen import _config

    lines = ["file: %s" % (cfg.file or "none (SQREEN_CONFIG unset, no ./%s)" % _config.DEFAULT_FILE)]
    width = max(len(key) for key in _config.SCHEMA)
    for key in sorted(_config.SCHEMA):
        lines.append("%-*s = %-24s [%s]" % (width, key, cfg.display(key), cfg.sources[key]))
    lines.extend("ERROR %s" % error for error in cfg.errors)
    return "configuration:", lines, not cfg.errors


def _module_exists(name):
    """Whether top-level module ``name`` can be imported, without importing it."""
    if sys.version_info[0] >= 3:
        import importlib.util

        return importlib.util.find_spec(name) is not None
    import imp

    try:
        found = imp.find_module(name)
    except ImportError:
        return False
    if found[0] is not None:
        found[0].close()
    return True


def _dist_version(dist):
    try:
        if sys.version_info >= (3, 8):
            from importlib import metadata

            return metadata.version(dist)
        import warnings

        with warnings.catch_warnings():  # pkg_resources warns that it is deprecated
            warnings.simplefilter("ignore")
            import pkg_resources

            return pkg_resources.get_distribution(dist).version
    except Exception:
        return None


def check_integrations(table=None):
    from sqreen import _integrations

    table = _integrations.INTEGRATIONS if table is None else table
    if not table:
        return "integrations:", ["none defined in this version"], True
    lines = []
    for module_name, target, dist in table:
        if _module_exists(module_name.split(".")[0]):
            if dist is None:  # the standard library's
                what = "Python %s" % ".".join(map(str, sys.version_info[:3]))
            else:
                what = "%s %s" % (dist, _dist_version(dist) or "?")
            lines.append("%s: will activate (%s) -> %s" % (module_name, what, target))
        else:
            lines.append("%s: not installed" % module_name)
    return "integrations:", lines, True


def sitecustomize_files(path=None):
    """Every ``sitecustomize`` on ``path`` (sys.path), in the order Python would find them."""
    found = []
    for entry in sys.path if path is None else path:
        base = os.path.join(entry or os.curdir, "sitecustomize")
        for candidate in (base + ".py", os.path.join(base, "__init__.py"), base + ".pyc"):
            if os.path.isfile(candidate):
                found.append(os.path.abspath(candidate))
                break
    return found


def check_sitecustomize():
    from sqreen.bootstrap import DIRECTORY

    lines = []
    pythonpath = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if any(p and os.path.abspath(p) == DIRECTORY for p in pythonpath):
        lines.append("sqreen bootstrap on PYTHONPATH: %s (runs first, then the ones below)" % DIRECTORY)
    files = [f for f in sitecustomize_files() if os.path.dirname(f) != DIRECTORY]
    for n, path in enumerate(files):
        lines.append("%s %s" % ("runs:" if n == 0 else "shadowed:", path))
    if not files:
        lines.append("no sitecustomize on sys.path")
    return "sitecustomize chain:", lines, True


def check_uwsgi():
    from sqreen import _uwsgi

    opt = _uwsgi.current_opt()
    if opt is None:
        return "uwsgi:", ["not running under uWSGI (checked when the agent starts there)"], True
    warnings = _uwsgi.check(opt)
    return "uwsgi:", warnings or ["options fine"], not warnings


def events_file_problem(path):
    """Why the agent could not append to ``path``, or None."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "is a directory"
    if os.path.exists(path):
        return None if os.access(path, os.W_OK) else "not writable"
    if not os.path.isdir(directory):
        return "directory %s does not exist" % directory
    return None if os.access(directory, os.W_OK | os.X_OK) else "directory %s not writable" % directory


def check_events_file(cfg):
    if cfg.url:
        return "events file:", ["not used (events go to the backend url)"], True
    path = cfg.events_file or "sqreen-events.jsonl"
    if path == "-":
        return "events file:", ["standard error"], True
    problem = events_file_problem(path)
    state = "writable" if problem is None else "NOT WRITABLE: " + problem
    return "events file:", ["%s: %s" % (os.path.abspath(path), state)], problem is None


def probe(url, timeout=2.0):
    """(ok, text): whether an HTTP server answers at ``url`` (any status counts as reachable)."""
    from six.moves.urllib import error, request

    req = request.Request(url)
    req.get_method = lambda: "HEAD"
    try:
        response = request.urlopen(req, timeout=timeout)
        return True, "reachable (HTTP %s)" % response.getcode()
    except error.HTTPError as exc:
        return True, "reachable (HTTP %s)" % exc.code
    except Exception as exc:
        reason = getattr(exc, "reason", None) or exc
        return False, "UNREACHABLE: %s" % reason


def check_backend(cfg):
    if not cfg.url:
        return "backend:", ["no url set (events go to the events file)"], True
    ok, text = probe(cfg.url)
    return "backend:", ["%s: %s" % (cfg.display("url"), text)], ok


if __name__ == "__main__":
    sys.exit(main())
