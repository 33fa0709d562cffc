"""Shell commands: what the application runs is checked for shell injection before it runs.

Sinks: ``os.system``, ``os.popen``, the ``subprocess.Popen`` constructor
(so ``run``, ``call``, ``check_call``, ``check_output``, ``getoutput``,
``getstatusoutput`` and asyncio's subprocesses, which all build one; and
gevent's, which monkey-patching puts in its place),
``os.exec*``, ``os.spawn*`` and ``os.posix_spawn*`` (the ``l`` variants
call the ``v`` ones), and ``commands`` on Python 2.7. The protection
(``protections._shell_injection``) reads a string run by a shell, and an
argument list only when it starts a shell itself (``['sh', '-c', cmd]``):
an argument list without a shell is never an injection. The environment
the program gets (``os.environ`` when the call passes none, as the child
inherits it) is checked for Shellshock function definitions.

One call, one check: some sinks run others (``os.popen`` builds a Popen
on Python 3, ``execvp`` calls ``execv`` once per ``PATH`` entry, Popen may
call ``os.posix_spawn``, or ``execvp`` in its forked child on 2.7). While
a checked sink runs, the sinks it calls for the same request are not
checked again, so an attack makes one event, named after the sink the
application called.

An attack is reported with the sink and the matched part of the command
in the event's detail; in block mode ``RequestBlocked`` is raised before
the command runs.

Outside a request a hooked call costs one context look-up more than the
bare call (see ``benchmarks/bench_shell_sinks.py``).

Known gaps: functions referenced before the patch (``from os import
system`` in a module imported before the agent started; any ``Popen``
call is checked, through the class) and ``posix.*`` called directly are
not checked.
"""
from __future__ import absolute_import

import os
import sys
import threading

import six

from sqreen import _log
from sqreen.instrumentation import HookPoint, _wrappers
from sqreen.integrations._callargs import argument
from sqreen.protections import _shell_injection

_state = {"undo": [], "patched": []}
# [request, depth] while a checked sink runs on this thread: the sinks it calls skip their check.
_local = threading.local()


def _request_layer_loaded():
    """``sqreen._request.current()``, once that module is loaded; None before: no request can be current.

    The patch runs at start-up (``os`` is loaded), when the network modules
    the request layer imports must not be loaded yet (gevent patches them
    later), so it is not imported here; once it is, ``_current`` is its
    ``current`` itself.
    """
    current = getattr(sys.modules.get("sqreen._request"), "current", None)
    if current is None:
        return None
    _current[0] = current
    return current()


_current = [_request_layer_loaded]


class InRequestPoint(HookPoint):
    """A hook point whose calls go straight through, at the cost of one context look-up, outside requests.

    Installed with the wrapper mechanism, which enters through ``call``.
    """

    __slots__ = ()

    def _generate_call(self):
        dispatch = HookPoint._generate_call(self)

        def call(wrapped, instance, args, kwargs):
            if _current[0]() is None:
                return wrapped(*args, **kwargs)
            return dispatch(wrapped, instance, args, kwargs)

        return call


def shell_string(index, names):
    """``(args, kwargs) -> (command, shell, env)`` for a sink that hands a string to ``/bin/sh -c``."""

    def command_of(args, kwargs):
        return argument(args, kwargs, index, names), True, None

    return command_of


def program_call(program_at, env_at=None):
    """``(args, kwargs) -> (command, shell, env)`` of ``exec*`` / ``spawn*``: ``(..., program, argv[, env])``.

    The program run is the one named, not ``argv[0]``: it leads the list checked.
    """

    def command_of(args, kwargs):
        program = argument(args, kwargs, program_at, ("path", "file"))
        argv = list(argument(args, kwargs, program_at + 1, ("argv", "args")) or ())
        env = argument(args, kwargs, env_at, ("env",)) if env_at is not None else None
        return [program] + argv[1:], False, env

    return command_of


def popen_call(args, kwargs):
    """``(command, shell, env)`` of ``Popen(args, bufsize, executable, ..., shell, cwd, env, ...)``."""
    command = argument(args, kwargs, 0, ("args",))
    shell = bool(argument(args, kwargs, 8, ("shell",), False))
    env = argument(args, kwargs, 10, ("env",))
    executable = argument(args, kwargs, 2, ("executable",))
    if hasattr(command, "__fspath__") and not isinstance(command, (six.text_type, bytes)):
        command = [command]  # a path object names the program, as Popen reads it
    if not shell and executable is not None and isinstance(command, (list, tuple)):
        command = [executable] + list(command[1:])  # argv[0] is only a name then
    return command, shell, env


#: os attribute -> how to read the command of a call (absent attributes are skipped).
OS_SINKS = (
    ("system", shell_string(0, ("command",))),
    ("popen", shell_string(0, ("cmd", "command"))),
    ("execv", program_call(0)),
    ("execve", program_call(0, 2)),
    ("execvp", program_call(0)),
    ("execvpe", program_call(0, 2)),
    ("spawnv", program_call(1)),
    ("spawnve", program_call(1, 3)),
    ("spawnvp", program_call(1)),
    ("spawnvpe", program_call(1, 3)),
    ("posix_spawn", program_call(0, 2)),
    ("posix_spawnp", program_call(0, 2)),
)
COMMANDS_SINKS = (
    ("getoutput", shell_string(0, ("cmd",))),
    ("getstatusoutput", shell_string(0, ("cmd",))),
)


def may_define_a_function(inputs):
    """Whether an input holds ``()``, without which no input spells a function definition (Shellshock).

    Reading the environment costs far more (``os.environ`` decodes every
    variable): most requests skip it.
    """
    for item in inputs:
        value = item[2]
        if isinstance(value, six.text_type):
            if u"()" in value:
                return True
        elif isinstance(value, bytes) and b"()" in value:
            return True
    return False


def report(attack, sink, request):
    """Report ``attack`` found in a call to ``sink``; raises ``RequestBlocked`` in block mode."""
    detail = dict(attack.detail or {})
    detail["sink"] = sink
    if "command" in detail:
        detail["matched"] = detail["command"][detail["start"]:detail["end"]]
    from sqreen import _attack_report

    return _attack_report.protection(attack._replace(detail=detail), request)


def check(sink, command_of, args, kwargs):
    """The pre callback's work: check the call against the current request's inputs."""
    request = _current[0]()
    if request is None:
        return
    inside = getattr(_local, "inside", None)
    if inside is not None and inside[0] is request:
        inside[1] += 1  # called by a sink that checked this command already
        return
    inputs = request.inputs()
    if inputs:
        command, shell, env = command_of(args, kwargs)
        if not may_define_a_function(inputs):
            env = None
        elif env is None:
            env = os.environ  # what the program inherits
        attack = _shell_injection.check_command(command, inputs, shell, env)
        if attack is not None:
            report(attack, sink, request)
    _local.inside = [request, 1]


def _leave(instance, args, kwargs, *result):
    inside = getattr(_local, "inside", None)
    if inside is not None:
        inside[1] -= 1
        if inside[1] <= 0:
            _local.inside = None


def _pre(sink, command_of):
    def check_shell_command(instance, args, kwargs):
        check(sink, command_of, args, kwargs)

    check_shell_command.__name__ = "check_" + sink.replace(".", "_")
    return check_shell_command


def _hook(owner, attr, sink, command_of):
    point = InRequestPoint(sink)
    point.add(pre=_pre(sink, command_of), post=_leave, failing=_leave)
    try:
        _state["undo"].append(_wrappers.install(owner, attr, point))
    except Exception:
        _log.log_once("integration:shell:" + sink, "sqreen: cannot hook %s; the commands it runs are not "
                      "checked", sink, exc_info=True)


def _patch_once(module, sinks, owner_name):
    if any(done is module for done in _state["patched"]):
        return
    _state["patched"].append(module)
    for attr, command_of in sinks:
        if callable(getattr(module, attr, None)):
            _hook(module, attr, "%s.%s" % (owner_name, attr), command_of)


def patch_os(module):
    """Hook ``os.system``, ``os.popen`` and the ``exec*`` / ``spawn*`` / ``posix_spawn*`` functions."""
    _patch_once(module, OS_SINKS, "os")


def patch_subprocess(module):
    """Hook the ``Popen`` constructor, which every helper of ``subprocess`` goes through.

    Also for ``gevent.subprocess``, whose ``Popen`` (same parameters)
    replaces the standard one once gevent monkey-patches.
    """
    if any(done is module for done in _state["patched"]):
        return
    _state["patched"].append(module)
    _hook(module.Popen, "__init__", module.__name__ + ".Popen", popen_call)


def patch_commands(module):
    """Hook ``commands.getoutput`` and ``getstatusoutput`` (Python 2.7; ``getstatus`` calls them)."""
    _patch_once(module, COMMANDS_SINKS, "commands")


def unpatch():
    """Undo every patch of this module."""
    while _state["undo"]:
        _state["undo"].pop()()
    del _state["patched"][:]
