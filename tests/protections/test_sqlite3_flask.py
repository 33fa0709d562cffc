"""sqlite3 end to end: the demo Flask app on a real server (wsgiref, loopback) under the agent, both modes."""
import json
import os
import subprocess
import sys

import pytest
from six.moves.urllib.parse import urlencode

from tests.helpers import ROOT, run_python
from tests.web.test_servers import Server

pytest.importorskip("flask")

ATTACK = urlencode({"username": "admin' --", "password": "x"}).encode("ascii")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class DemoServer(Server):
    """``sqreen._demo_app`` under the agent in ``mode``, with ``tests.web``'s request helpers."""

    def __init__(self, mode, tmpdir):
        from sqreen import _demo_app

        self.kind = "wsgiref"
        self.db = os.path.join(tmpdir, "demo.db")
        _demo_app.create_db(self.db)
        self.events_file = os.path.join(tmpdir, "events.jsonl")
        self.log = open(os.path.join(tmpdir, "server.log"), "wb")
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
        env.update(SQREEN_FORCE_START="1", SQREEN_MODE=mode, SQREEN_EVENTS_FILE=self.events_file,
                   PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        self.proc = subprocess.Popen([sys.executable, "-m", "sqreen._demo_app", self.db, "0", "--agent"],
                                     cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode("ascii")
        assert line.startswith("LISTENING "), self.output()
        self.port = int(line.split()[1])

    def all_events(self):
        """The events once the server has exited (SIGTERM: it flushes on the way out)."""
        self.stop()
        self.proc.stdout.close()
        if not os.path.exists(self.events_file):
            return []
        with open(self.events_file) as f:
            return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(params=["monitor", "block"])
def server(request, tmpdir):
    srv = DemoServer(request.param, str(tmpdir))
    srv.mode = request.param
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def test_injection_through_a_flask_view(server):
    benign = server.request("GET", "/profile?" + urlencode({"name": "O'Brien"}))
    search = server.request("GET", "/search?q=ali")
    status, _, body = server.request("POST", "/login", body=ATTACK, headers=FORM)
    events = server.all_events()
    assert benign[0] == search[0] == 200 and b"alice" in search[2]
    attacks = [e for e in events if e["kind"] == "attack"]
    assert len(attacks) == 1, events
    event = attacks[0]
    assert event["input"] == {"source": "form", "name": "username", "value": "admin' --"}
    assert event["request"]["path"] == "/login" and event["request"]["route"] == "/login"
    if server.mode == "block":
        assert status == 403 and event["blocked"] and event["event_id"].encode() in body
    else:
        assert status == 200 and b"Welcome, admin" in body and not event["blocked"]


def test_form_body_of_a_post():
    _, out, _ = run_python("""
import sqreen
sqreen.start()
import flask, sqlite3
app = flask.Flask("t")

@app.route("/login", methods=["POST"])
def login():
    conn = sqlite3.connect(":memory:")
    conn.execute("SELECT 1 WHERE 'a' = '%s'" % flask.request.form["username"])
    return "ran"

print(app.test_client().post("/login", data={"username": "x' OR '1'='1"}).status_code)
""", env={"SQREEN_FORCE_START": "1", "SQREEN_MODE": "block", "SQREEN_EVENTS_FILE": "/dev/null"})
    assert out.split()[-1] == "403"
