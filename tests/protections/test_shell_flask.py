"""Shell injection end to end: a Flask app on a real server (wsgiref, loopback) under the agent, both modes.

The app (``_shell_app``) builds ``printf`` commands from a request value
and runs them through every sink (``subprocess`` helpers, ``os.system``,
``os.popen``, ``os.spawnl``, ``commands`` on 2.7). Each attack of
``shell_corpus`` would create a mark file in the server's working
directory: in monitor mode it does and one event names it; in block mode
the answer is 403, the file is absent and the event says blocked. Benign
values are printed back and make no event.
"""
import json
import os
import sys
import uuid

import pytest
from six.moves.urllib.parse import urlencode

from tests.agent_process import agent_env, events_by_request, start_listening
from tests.protections.shell_corpus import ATTACKS, BENIGN
from tests.web.test_servers import Server

pytest.importorskip("flask")

#: Sink of the app -> the sink the event names.
SINK_NAMES = {"check_output": "subprocess.Popen", "call": "subprocess.Popen", "run": "subprocess.Popen",
              "Popen": "subprocess.Popen", "system": "os.system", "popen": "os.popen",
              "getoutput": "subprocess.Popen" if sys.version_info[0] >= 3 else "commands.getoutput",
              "spawn": "os.spawnv"}
ATTACK_SINKS = sorted(SINK_NAMES)
OUTPUT_SINKS = ["check_output", "Popen", "popen", "getoutput"]  # the first two take lists
SOURCES = ["query", "form", "json", "header"]


class ShellServer(Server):
    """``_shell_app`` under the agent in ``mode``, working in ``tmpdir``."""

    def __init__(self, mode, tmpdir):
        self.kind = "wsgiref"
        self.mode = mode
        self.cwd = os.path.join(tmpdir, "cwd")
        os.mkdir(self.cwd)
        self.events_file = os.path.join(tmpdir, "events.jsonl")
        self.log = open(os.path.join(tmpdir, "server.log"), "wb")
        self.proc, self.port = start_listening([sys.executable, "-m", "tests.protections._shell_app"],
                                               agent_env(mode, self.events_file), self.log, cwd=self.cwd)

    def send(self, path, value, source, request_id):
        """Request ``path`` with ``x`` = ``value`` sent through ``source``; ``(status, body)``."""
        headers = {"X-Request-Id": request_id}
        body = None
        method = "POST"
        if source == "query":
            method, path = "GET", path + "?" + urlencode({"x": value})
        elif source == "form":
            body = urlencode({"x": value}).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif source == "json":
            body = json.dumps({"x": value}).encode("utf-8")
            headers["Content-Type"] = "application/json"
        else:
            method = "GET"
            headers["X-Value"] = value
        status, _, data = self.request(method, path, body=body, headers=headers)
        return status, data.decode("utf-8", "replace")

    def all_events(self):
        """Every event, by request id, once the server has exited (SIGTERM: it flushes on the way out)."""
        self.stop()
        self.proc.stdout.close()
        return events_by_request(self.events_file)


@pytest.fixture(params=["monitor", "block"])
def server(request, tmpdir):
    srv = ShellServer(request.param, str(tmpdir))
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def _source(value, index):
    """A source that can carry ``value``: header values hold no line breaks or outer blanks."""
    source = SOURCES[index % len(SOURCES)]
    if source == "header" and (value != value.strip() or "\n" in value or "\r" in value or "\t" in value):
        return "json"
    return source


def _input(source, value):
    name = "x-value" if source == "header" else "x"
    return {"source": source, "name": name, "value": value}


def test_attacks_and_benign_values_through_every_sink(server):
    sent = []
    for index, (template, payload) in enumerate(ATTACKS):
        mark = "m%02d" % index
        value = payload.format(m=mark)
        sink = ATTACK_SINKS[index % len(ATTACK_SINKS)]
        source = _source(value, index)
        rid = uuid.uuid4().hex
        status, body = server.send("/run/%s/%s" % (sink, template), value, source, rid)
        sent.append((rid, mark, value, sink, source, status, body))
    answers = []
    for index, (template, value) in enumerate(BENIGN):
        sink = OUTPUT_SINKS[index % (2 if template == "argv" else len(OUTPUT_SINKS))]  # lists: subprocess
        source = _source(value, index)
        rid = uuid.uuid4().hex
        status, body = server.send("/run/%s/%s" % (sink, template), value, source, rid)
        answers.append((rid, value, sink, source, status, body))
    events = server.all_events()
    for rid, mark, value, sink, source, status, body in sent:
        ran = os.path.lexists(os.path.join(server.cwd, mark))
        what = (value, sink, source, status, body)
        assert [e["kind"] for e in events.get(rid, [])] == ["attack"], what
        event = events[rid][0]
        assert event["attack_type"] == "shell_injection" and event["input"] == _input(source, value), what
        assert event["detail"]["sink"] == SINK_NAMES[sink] and event["detail"]["matched"] == value, what
        assert event["detail"]["reason"] and value in event["detail"]["command"], what
        if server.mode == "block":
            assert status == 403 and event["blocked"] and not ran, what
            assert event["event_id"] in body, what
        else:
            assert status == 200 and not event["blocked"] and ran, what
    for rid, value, sink, source, status, body in answers:
        assert (status, body) == (200, value + "\n"), (value, sink, source)
        assert rid not in events, (value, events.get(rid))
    assert not os.path.lexists(os.path.join(server.cwd, "pwned"))


def test_shellshock_in_the_environment_of_a_program(server):
    rid = uuid.uuid4().hex
    value = "() { :; }; touch m99"
    status, body = server.request("GET", "/cgi", headers={"X-Value": value, "X-Request-Id": rid})[::2]
    benign = server.request("GET", "/cgi", headers={"X-Value": "(a) {b}", "X-Request-Id": "benign"})
    events = server.all_events()
    assert benign[0] == 200 and benign[2] == b"ok" and "benign" not in events
    event, = events[rid]
    assert event["input"] == _input("header", value) and event["detail"]["sink"] == "subprocess.Popen"
    assert event["detail"]["variable"] == "HTTP_X_VALUE"
    assert (status, event["blocked"]) == ((403, True) if server.mode == "block" else (200, False)), body
