"""Shell sinks hooked in this process, real commands run: what is checked, reported, blocked, let through.

``sqreen.integrations.shell`` patches ``os``, ``subprocess`` (and
``commands`` on 2.7) for the module; each test makes a request current by
hand and collects the events the agent reports. An injected command would
create a mark file: block mode must stop it before it runs. ``exec*``
replaces the process, so it runs in a forked child that sends its events
back through a pipe.
"""
import json
import os
import subprocess
import sys

import pytest
from six.moves.urllib.parse import urlencode

from sqreen import _config, _log, _reporter, _request, _runtime
from sqreen.instrumentation import RequestBlocked
from sqreen.integrations import shell
from tests.helpers import run_python

try:
    import commands  # Python 2.7
except ImportError:
    commands = None

PY3 = sys.version_info[0] >= 3
CHECK_OUTPUT = subprocess.check_output  # taken before the patch: Popen, the class it builds, is hooked
if PY3:
    from tests.protections import _shell_async


@pytest.fixture(scope="module", autouse=True)
def patched():
    shell.patch_os(os)
    shell.patch_subprocess(subprocess)
    if commands is not None:
        shell.patch_commands(commands)
    yield
    shell.unpatch()


class Agent(object):
    """The running agent as the integration sees it: a mode, and the events it reported."""

    def __init__(self, monkeypatch, tmpdir, mode):
        self.events = []
        self.mode = mode
        self.mark = os.path.join(tmpdir, "mark")
        config = _config.load({"SQREEN_MODE": mode}, cwd=tmpdir)
        monkeypatch.setitem(_runtime._state, "status", _runtime.RUNNING)
        monkeypatch.setitem(_runtime._state, "config", config)
        monkeypatch.setattr(_reporter, "report", self.events.append)

    def request(self, x, headers=None):
        """Make current a request whose query string carries ``x``."""
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/ping", "QUERY_STRING": urlencode({"x": x})}
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        _request.activate(_request.Request(environ))

    def attacks(self):
        return [e for e in self.events if e["kind"] == "attack"]

    def ran(self):
        return os.path.lexists(self.mark)


@pytest.fixture(params=["monitor", "block"])
def agent(request, monkeypatch, tmpdir):
    _log.reset()
    yield Agent(monkeypatch, str(tmpdir), request.param)
    _request.deactivate()


def _shell_word(cmd):
    return ["sh", "-c", cmd]


def _spawn_wait(pid):
    os.waitpid(pid, 0)


#: name -> (function running a shell command line, the sink the event names)
SINKS = {
    "os.system": (lambda c: os.system(c), "os.system"),
    "os.popen": (lambda c: os.popen(c).read(), "os.popen"),
    "subprocess.call": (lambda c: subprocess.call(c, shell=True), "subprocess.Popen"),
    "subprocess.check_call": (lambda c: subprocess.check_call(c, shell=True), "subprocess.Popen"),
    "subprocess.check_output": (lambda c: subprocess.check_output(c, shell=True), "subprocess.Popen"),
    "Popen(shell=True)": (lambda c: subprocess.Popen(c, shell=True).wait(), "subprocess.Popen"),
    "Popen(close_fds=False)": (lambda c: subprocess.Popen(c, shell=True, close_fds=False).wait(),
                               "subprocess.Popen"),
    "Popen(executable=bash)": (lambda c: subprocess.Popen(c, shell=True, executable="/bin/bash").wait(),
                               "subprocess.Popen"),
    "Popen(['sh', '-c'])": (lambda c: subprocess.Popen(_shell_word(c)).wait(), "subprocess.Popen"),
    "Popen(env=...)": (lambda c: subprocess.Popen(c, shell=True, env={"PATH": os.environ["PATH"]}).wait(),
                       "subprocess.Popen"),
    "os.spawnl": (lambda c: os.spawnl(os.P_WAIT, "/bin/sh", "sh", "-c", c), "os.spawnv"),
    "os.spawnlp": (lambda c: os.spawnlp(os.P_WAIT, "sh", "sh", "-c", c), "os.spawnvp"),
    "os.spawnve": (lambda c: os.spawnve(os.P_WAIT, "/bin/sh", _shell_word(c), dict(os.environ)),
                   "os.spawnve"),
    "os.spawnvpe": (lambda c: os.spawnvpe(os.P_WAIT, "sh", _shell_word(c), dict(os.environ)), "os.spawnvpe"),
    "os.spawnv(bash -lc)": (lambda c: os.spawnv(os.P_WAIT, "/bin/bash", ["bash", "-lc", c]), "os.spawnv"),
}
if PY3:
    SINKS.update({
        "subprocess.run": (lambda c: subprocess.run(c, shell=True), "subprocess.Popen"),
        "subprocess.getoutput": (lambda c: subprocess.getoutput(c), "subprocess.Popen"),
        "subprocess.getstatusoutput": (lambda c: subprocess.getstatusoutput(c), "subprocess.Popen"),
        "asyncio.create_subprocess_shell": (_shell_async.create_subprocess_shell, "subprocess.Popen"),
    })
else:
    SINKS.update({
        "commands.getoutput": (lambda c: commands.getoutput(c), "commands.getoutput"),
        "commands.getstatusoutput": (lambda c: commands.getstatusoutput(c), "commands.getstatusoutput"),
    })
if hasattr(os, "posix_spawn"):
    SINKS.update({
        "os.posix_spawn": (lambda c: _spawn_wait(os.posix_spawn("/bin/sh", _shell_word(c), os.environ)),
                           "os.posix_spawn"),
        "os.posix_spawnp": (lambda c: _spawn_wait(os.posix_spawnp("sh", _shell_word(c), os.environ)),
                            "os.posix_spawnp"),
    })
#: exec* replace the process: run in a forked child.
EXECS = {
    "os.execl": (lambda c: os.execl("/bin/sh", "sh", "-c", c), "os.execv"),
    "os.execle": (lambda c: os.execle("/bin/sh", "sh", "-c", c, dict(os.environ)), "os.execve"),
    "os.execlp": (lambda c: os.execlp("sh", "sh", "-c", c), "os.execvp"),
    "os.execvpe": (lambda c: os.execvpe("sh", _shell_word(c), dict(os.environ)), "os.execvpe"),
}


def _attack(agent):
    value = "x; touch " + agent.mark
    agent.request(value)
    return value, "printf '%s\\n' " + value


def _check_event(agent, value, sink, events):
    assert len(events) == 1, events
    event = events[0]
    assert event["attack_type"] == "shell_injection" and event["blocked"] == (agent.mode == "block")
    assert event["input"] == {"source": "query", "name": "x", "value": value}
    assert event["detail"]["sink"] == sink and event["detail"]["matched"] == value
    assert event["detail"]["reason"] == "adds an operator" and event["request"]["path"] == "/ping"


@pytest.mark.parametrize("name", sorted(SINKS))
def test_an_injected_command_through_each_sink(agent, name):
    run, sink = SINKS[name]
    value, command = _attack(agent)
    if agent.mode == "block":
        with pytest.raises(RequestBlocked):
            run(command)
        assert not agent.ran()
    else:
        run(command)
        assert agent.ran()
    _check_event(agent, value, sink, agent.attacks())


def _in_child(agent, run, command):
    """Fork; the child runs ``run(command)`` with its events sent back; ``(events, child blocked)``."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            _reporter.report = lambda event: os.write(write, json.dumps(event).encode("utf-8") + b"\n")
            try:
                run(command)
            except RequestBlocked:
                os.write(write, b"BLOCKED\n")
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    while True:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    lines = b"".join(chunks).decode("utf-8").splitlines()
    return [json.loads(line) for line in lines if line != "BLOCKED"], "BLOCKED" in lines


@pytest.mark.parametrize("name", sorted(EXECS))
def test_an_injected_command_through_exec(agent, name):
    run, sink = EXECS[name]
    value, command = _attack(agent)
    events, blocked = _in_child(agent, run, command)
    assert blocked == (agent.mode == "block") and agent.ran() == (not blocked)
    _check_event(agent, value, sink, events)


LIST_CALLS = [
    lambda x: subprocess.check_output(["printf", "%s", x]),
    lambda x: subprocess.check_output(("printf", b"%s", x.encode("utf-8"))),
    lambda x: subprocess.check_output(["printf", "%s", x], executable="/usr/bin/printf"),
    lambda x: os.spawnvp(os.P_WAIT, "printf", ["printf", "%s", x]),
    lambda x: subprocess.check_output(["env", "printf", "%s", x]),
]


@pytest.mark.parametrize("index", range(len(LIST_CALLS)))
def test_argument_lists_without_a_shell_are_never_injections(agent, index):
    value = "x; touch %s $(touch %s) `touch %s`" % ((agent.mark,) * 3)
    agent.request(value)
    LIST_CALLS[index](value)
    assert agent.events == [] and not agent.ran()


@pytest.mark.skipif(sys.version_info < (3, 8), reason="Popen takes a path object from Python 3.8 on")
def test_a_path_object_as_the_program(agent):
    import pathlib

    agent.request("x; touch " + agent.mark)
    assert subprocess.call(pathlib.Path("/bin/true")) == 0
    assert agent.events == [] and _log.counters() == {}


def test_benign_values_quoted_by_the_app_run(agent):
    from six.moves import shlex_quote

    values = ["O'Brien", "a;b", "http://example.com/?a=1&b=2", "$(id)", "`id`", "x && y", "> out",
              "tab\there"]
    for value in values:
        agent.request(value)
        out = subprocess.check_output("printf '%s\\n' " + shlex_quote(value), shell=True)
        assert out.decode("utf-8") == value + "\n"
    assert agent.events == []


def test_shellshock_in_the_environment_given(agent):
    value = "() { :; }; touch " + agent.mark
    agent.request("8.8.8.8", headers={"User-Agent": value})
    env = {"PATH": os.environ["PATH"], "HTTP_USER_AGENT": value}
    try:
        subprocess.check_output(["printf", "ok"], env=env)
    except RequestBlocked:
        assert agent.mode == "block"
    event, = agent.attacks()
    assert event["input"] == {"source": "header", "name": "user-agent", "value": value}
    assert event["detail"]["variable"] == "HTTP_USER_AGENT" and event["detail"]["sink"] == "subprocess.Popen"


def test_shellshock_in_the_inherited_environment(agent, monkeypatch):
    value = "() { :; }; echo pwned"
    monkeypatch.setenv("HTTP_USER_AGENT", value)  # a CGI-style app copies headers to os.environ
    agent.request("8.8.8.8", headers={"User-Agent": value})
    try:
        os.system("true")
    except RequestBlocked:
        assert agent.mode == "block"
    event, = agent.attacks()
    assert event["detail"]["variable"] == "HTTP_USER_AGENT" and event["detail"]["sink"] == "os.system"


def test_a_reference_taken_before_the_patch_is_checked(agent):
    value, command = _attack(agent)
    try:
        CHECK_OUTPUT(command, shell=True)
    except RequestBlocked:
        assert agent.mode == "block"
    assert agent.ran() == (agent.mode == "monitor")
    _check_event(agent, value, "subprocess.Popen", agent.attacks())


def test_each_call_of_a_request_is_checked_after_one_that_failed(agent):
    value, command = _attack(agent)
    with pytest.raises(OSError):
        subprocess.Popen(["/nonexistent/program", value])  # fails inside the hooked constructor
    for _ in range(2):
        try:
            os.system(command)
        except RequestBlocked:
            pass
    assert [e["detail"]["sink"] for e in agent.attacks()] == ["os.system", "os.system"]


def test_nothing_is_checked_outside_a_request(agent):
    _request.deactivate()
    os.system("true; touch " + agent.mark)
    assert agent.ran() and agent.events == []


def test_an_input_that_is_not_in_the_command(agent):
    agent.request("x; touch /nonexistent")
    assert subprocess.call("true; touch " + agent.mark, shell=True) == 0
    assert agent.ran() and agent.events == []


def _outcome(call):
    try:
        return "returned", call()
    except Exception as exc:
        return "raised", type(exc)


@pytest.mark.parametrize("call", [lambda: subprocess.call(12345), lambda: subprocess.call([None]),
                                  lambda: os.system(None), lambda: os.spawnv(os.P_WAIT, None, None)])
def test_a_call_the_app_got_wrong_fails_as_it_would_without_the_agent(agent, call):
    agent.request("x; touch /nonexistent")
    hooked = _outcome(call)
    shell.unpatch()
    try:
        bare = _outcome(call)
    finally:
        shell.patch_os(os)
        shell.patch_subprocess(subprocess)
        if commands is not None:
            shell.patch_commands(commands)
    assert hooked == bare and agent.events == []


def test_patch_is_idempotent_and_unpatch_restores():
    undo = list(shell._state["undo"])
    shell.patch_os(os)
    shell.patch_subprocess(subprocess)
    assert shell._state["undo"] == undo
    hooked_system = os.system
    shell.unpatch()
    try:
        assert os.system is not hooked_system and getattr(os.system, "__wrapped__", None) is None
        assert shell._state["undo"] == []
    finally:
        shell.patch_os(os)
        shell.patch_subprocess(subprocess)
        if commands is not None:
            shell.patch_commands(commands)


def test_gevent_subprocess_after_monkey_patching(tmpdir):
    pytest.importorskip("gevent")
    _, out, _ = run_python("""
        import sqreen
        sqreen.start()
        from gevent import monkey
        monkey.patch_all()
        import os, subprocess
        from sqreen import _request
        from sqreen.instrumentation import RequestBlocked
        mark = %r
        _request.activate(_request.Request({"REQUEST_METHOD": "GET", "PATH_INFO": "/",
                                            "QUERY_STRING": "x=x%%3Btouch+" + mark}))
        try:
            subprocess.check_output("printf x;touch " + mark, shell=True)
            print("ran", os.path.exists(mark))
        except RequestBlocked:
            print("blocked", os.path.exists(mark), subprocess.Popen.__module__)
    """ % str(tmpdir.join("mark")), env={"SQREEN_FORCE_START": "1", "SQREEN_MODE": "block",
                                         "SQREEN_EVENTS_FILE": str(tmpdir.join("events"))})
    assert out.split() == ["blocked", "False", "gevent.subprocess"]
