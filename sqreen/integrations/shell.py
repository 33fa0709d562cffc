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
application called. Outside a request nothing is checked.

An attack is reported with the sink and the matched part of the command
in the event's detail; in block mode ``RequestBlocked`` is raised before
the command runs.

Known gaps: C functions (``os.system``, ``os.execv``...) referenced
before the patch (``from os import system`` before the agent started) and
``posix.*`` called directly are not checked.
"""
from __future__ import absolute_import

import os
import sys
import threading

from sqreen import _log
from sqreen.instrumentation import hook
from sqreen.integrations._callargs import argument
from sqreen.protections import _shell_injection

_state = {"handles": [], "patched": []}
# ``sqreen._request.current``, taken from the loaded module by the first hooked call: the patch runs at
# start-up (os is loaded), when the network modules the request layer imports must not be loaded yet
# (gevent patches them later); and no request can be current before that module is loaded.
_lazy = {}
# [request, depth] while a checked sink runs on this thread: the sinks it calls skip their check.
_local = threading.local()


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
    current = _lazy.get("current")
    if current is None:
        current = getattr(sys.modules.get("sqreen._request"), "current", None)
        if current is None:
            return  # the request layer is not loaded (or is loading and runs a command): no request yet
        _lazy["current"] = current
    request = current()
    if request is None:
        return
    inside = getattr(_local, "inside", None)
    if inside is not None and inside[0] is request:
        inside[1] += 1  # called by a sink that checked this command already
        return
    inputs = request.inputs()
    if inputs:
        command, shell, env = command_of(args, kwargs)
        attack = _shell_injection.check_command(command, inputs, shell, os.environ if env is None else env)
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
    try:
        _state["handles"].append(hook((owner, attr), pre=_pre(sink, command_of), post=_leave,
                                      failing=_leave))
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
    while _state["handles"]:
        _state["handles"].pop().remove()
    del _state["patched"][:]
