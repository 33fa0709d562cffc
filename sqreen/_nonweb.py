"""Tell processes that serve no web traffic (tests, shells, workers) from the ones that do.

The agent protects request handling; in a test run, an interactive shell or
a task worker it would only cost time and report noise, so it does not start
there by itself (``force_start`` overrides). The decision is a pure function
of command lines (:func:`reason`), fed with ``sys.argv`` and, on Linux, the
process's own ``/proc/self/cmdline`` (which also exists before ``sys.argv``
does, when the bootstrap ``sitecustomize`` runs).
"""
import os
import sys

# Interpreter options that consume the next argument.
_OPTS_WITH_VALUE = ("-W", "-X", "-Q", "--check-hash-based-pycs")

# Programs that are non-web whatever their arguments.
_ALWAYS = {
    "pytest": "test runner (pytest)",
    "py.test": "test runner (pytest)",
    "nosetests": "test runner (nose)",
    "nose": "test runner (nose)",
    "nose2": "test runner (nose2)",
    "unittest": "test runner (unittest)",
    "trial": "test runner (trial)",
    "ipython": "IPython shell",
    "ipython3": "IPython shell",
    "ipykernel": "Jupyter kernel",
    "ipykernel_launcher": "Jupyter kernel",
    "jupyter": "Jupyter",
    "jupyter-notebook": "Jupyter",
    "jupyter-lab": "Jupyter",
    "jupyter-console": "Jupyter",
    "rqworker": "RQ worker",
    "pshell": "Pyramid shell (pshell)",
    "sqreen": "sqreen's own command line",
    "sqreen-start": "sqreen's own launcher (it starts the agent in the command it runs)",
}

# Programs that are non-web with one of these sub-commands anywhere in their arguments.
_SUBCOMMANDS = {
    "celery": (("worker", "beat"), "Celery %s"),
    "rq": (("worker",), "RQ %s"),
    "flask": (("shell",), "flask %s"),
}

# Django's manage.py / django-admin: the first positional argument is the command.
_DJANGO = ("manage", "django-admin", "django")
_DJANGO_COMMANDS = ("test", "shell", "shell_plus", "dbshell")


def _basename(path):
    """Lower-cased program name: no directory, no .py/.exe/-script suffix."""
    name = path.replace("\\", "/").rstrip("/")
    parts = name.split("/")
    base = parts[-1].lower()
    if base in ("__main__.py", "__main__.pyc", "__main__") and len(parts) > 1:
        base = parts[-2].lower()  # python -m pkg leaves .../pkg/__main__.py in sys.argv[0]
    for suffix in (".exe", ".pyc", ".py", "-script"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base


def _is_python(name):
    """python, python3.11, python3.13t, pypy3 ... (already through :func:`_basename`)."""
    for prefix in ("python", "pypy"):
        if name.startswith(prefix):
            return all(c.isdigit() or c in ".dmtu" for c in name[len(prefix):])
    return False


def _module(name):
    low = name.lower()
    known = low in _ALWAYS or low in _SUBCOMMANDS or low in _DJANGO
    return low if known else low.split(".")[0]


def split_command(argv):
    """(program name, its arguments) for a command line, seeing through ``python [opts] -m mod``.

    ``python -c code ...`` gives ("-c", args); ``sys.argv`` while ``-m`` is
    still resolving gives ("-m", args); a bare interpreter gives ("", []).
    """
    if not argv:
        return "", []
    if argv[0] in ("-c", "-m"):
        return argv[0], argv[1:]
    if not _is_python(_basename(argv[0])):
        return _basename(argv[0]), argv[1:]
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            return (_module(argv[i + 1]), argv[i + 2:]) if i + 1 < len(argv) else ("", [])
        if arg.startswith("-m"):
            return _module(arg[2:]), argv[i + 1:]
        if arg == "-c":
            return "-c", argv[i + 2:]
        if arg.startswith("-c") or arg == "-":
            return "-c", argv[i + 1:]
        if arg in _OPTS_WITH_VALUE:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return _basename(arg), argv[i + 1:]
    return "", []


def _positional(args):
    for arg in args:
        if not arg.startswith("-"):
            return arg.lower()
    return None


def reason_for(argv):
    """Why the command line ``argv`` is a non-web process, or None."""
    program, args = split_command(argv)
    if program in _ALWAYS:
        return _ALWAYS[program]
    lowered = [a.lower() for a in args]
    if program in _SUBCOMMANDS:
        subcommands, label = _SUBCOMMANDS[program]
        for sub in subcommands:
            if sub in lowered:
                return label % sub
    if program in _DJANGO:
        command = _positional(args)
        if command in _DJANGO_COMMANDS:
            return "Django %r command" % command
    return None


def reason(argv_lists):
    """The first non-web reason found in any of the command lines, or None."""
    for argv in argv_lists:
        if argv:
            why = reason_for(list(argv))
            if why:
                return why
    return None


def read_cmdline(path="/proc/self/cmdline"):
    """This process's command line from /proc (Linux), or None."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except (IOError, OSError):
        return None
    parts = raw.split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    if sys.version_info[0] >= 3:
        return [os.fsdecode(p) for p in parts]
    return parts


def detect():
    """Why this process is non-web (from sys.argv and /proc/self/cmdline), or None."""
    return reason([getattr(sys, "argv", None), read_cmdline()])
