"""Cost the shell sinks' hooks add to a call: outside a request, and inside one with 10 inputs.

Run (pyperf installed in the interpreter's environment)::

    python benchmarks/bench_shell_sinks.py --fast

Spawning a process takes a millisecond or so, which would drown the
hook's cost, so the hook is measured on stand-ins first: the same hooks
as ``sqreen.integrations.shell`` puts on ``os.system`` (a C function: the
wrapper mechanism) and on ``subprocess.Popen.__init__`` (a Python
function: code injection on Python 3), installed on a C function that
does nothing (``len``) and on a class whose ``__init__`` has Popen's
parameters and an empty body. Rows per stand-in:

* ``bare``: not hooked (the baseline);
* ``hooked, no request``: no request current (the common case of
  commands run by the app's start-up, cron jobs and the like);
* ``hooked, request miss``: a request with 10 inputs, none in the command
  (goal: under 5 microseconds added);
* ``hooked, request hit``: one input injects an operator (monitor mode,
  no agent running: the event is built, the reporter drops it).

Then real calls, ``os.system("true")`` and ``subprocess.call(["true"])``,
bare and hooked, outside a request: the hook's share of a real spawn. The
table gives microseconds per call and what each row adds to its ``bare``
row, all measured in the same run. Workers get 30 more environment
variables, as an app's environment has a few dozen.
"""
import os
import subprocess
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pyperf  # noqa: E402

from sqreen import _request  # noqa: E402
from sqreen.integrations import shell  # noqa: E402

QUERY = ("page=2&sort=created_at&q=blue+shoes&comment=Looks+great%2C+thanks&session=3f9a0c2e7d"
         "&lang=en-US&ref=newsletter&id=12345&color=navy&host=")
HIT = "8.8.8.8; id"
# pyperf hands its workers an almost empty environment; an app's has a few dozen variables, which the
# Shellshock check may read.
for _i in range(30):
    os.environ.setdefault("BENCH_VAR_%02d" % _i, "/usr/local/lib/app-%02d:/usr/lib/x86_64-linux-gnu" % _i)
MISS_COMMAND = "printf '%s\\n' 8.8.4.4"
HIT_COMMAND = "printf '%s\\n' " + HIT


def _popen_class():
    """A class with Popen's parameters and nothing to do; a new class (and function) on each call."""

    class Popen(object):
        def __init__(self, args, bufsize=-1, executable=None, stdin=None, stdout=None, stderr=None,
                     preexec_fn=None, close_fds=True, shell=False, cwd=None, env=None):
            pass

    return Popen


BarePopen = _popen_class()
HookedPopen = _popen_class()
STUB = types.ModuleType("stub_os")
STUB.system = len
shell._hook(STUB, "system", "os.system", shell.shell_string(0, ("command",)))
shell._hook(HookedPopen, "__init__", "subprocess.Popen", shell.popen_call)

#: (label, kind, call(command), request value or None, command)
STANDINS = []
for _kind, _bare, _hooked in (("os.system stand-in", len, lambda c: STUB.system(c)),
                              ("Popen stand-in", lambda c: BarePopen(c, shell=True),
                               lambda c: HookedPopen(c, shell=True))):
    STANDINS += [
        (_kind + ": bare", _kind, _bare, None, MISS_COMMAND),
        (_kind + ": hooked, no request", _kind, _hooked, None, MISS_COMMAND),
        (_kind + ": hooked, request miss", _kind, _hooked, "8.8.4.5", MISS_COMMAND),
        (_kind + ": hooked, request hit", _kind, _hooked, HIT, HIT_COMMAND),
    ]
REAL = [
    ("os.system('true'): bare", "os.system('true')", False, lambda: os.system("true")),
    ("os.system('true'): hooked, no request", "os.system('true')", True, lambda: os.system("true")),
    ("subprocess.call(['true']): bare", "subprocess.call(['true'])", False,
     lambda: subprocess.call(["true"])),
    ("subprocess.call(['true']): hooked, no request", "subprocess.call(['true'])", True,
     lambda: subprocess.call(["true"])),
]


def _seconds(loops, call, *args):
    clock = pyperf.perf_counter
    start = clock()
    for _ in range(loops):
        call(*args)
    return clock() - start


def standin_timer(call, value, command):
    def timer(loops):
        if value is not None:
            _request.activate(_request.Request({"REQUEST_METHOD": "GET", "PATH_INFO": "/ping",
                                                "QUERY_STRING": QUERY + value}))
            assert len(_request.current().inputs()) == 10
        try:
            return _seconds(loops, call, command)
        finally:
            _request.deactivate()

    return timer


def real_timer(hooked, call):
    def timer(loops):
        if hooked:
            shell.patch_os(os)
            shell.patch_subprocess(subprocess)
        try:
            return _seconds(loops, call)
        finally:
            shell.unpatch()
            shell._hook(STUB, "system", "os.system", shell.shell_string(0, ("command",)))
            shell._hook(HookedPopen, "__init__", "subprocess.Popen", shell.popen_call)

    return timer


def main():
    runner = pyperf.Runner()
    rows = []
    for label, kind, call, value, command in STANDINS:
        rows.append((label, kind, runner.bench_time_func(label, standin_timer(call, value, command))))
    for label, kind, hooked, call in REAL:
        rows.append((label, kind, runner.bench_time_func(label, real_timer(hooked, call))))
    if runner.args.worker:
        return
    results = dict((label, bench.mean() * 1e6) for label, _, bench in rows if bench)
    print()
    print("Python %s, microseconds per call (10 request inputs)" % sys.version.split()[0])
    print("%-48s %10s %10s %8s" % ("case", "mean", "added", "ratio"))
    for label, kind, _ in rows:
        bare = results.get(kind + ": bare")
        if label in results and bare:
            mean = results[label]
            print("%-48s %10.3f %10.3f %8.3f" % (label, mean, mean - bare, mean / bare))


if __name__ == "__main__":
    main()
