"""Template XSS end to end: a Flask app (Jinja2) and a Django project on a real server, both modes.

``tests/protections/xss_apps.py`` serves each on loopback (the demo's
threaded wsgiref server) under the agent; the tests send an XSS through
``|safe`` and benign inputs, then read the pages and the events file.
"""
import os
import subprocess
import sys

import pytest
from six.moves.urllib.parse import urlencode

from tests.helpers import ROOT
from tests.protections.test_sqlite3_flask import DemoServer

PAYLOAD = "<img src=x onerror=alert(1)>"
DEFUSED = b"&lt;img&#32;src&#61;x&#32;onerror&#61;alert(1)&gt;"
ESCAPED_Q = b"&lt;script&gt;alert(1)&lt;/script&gt;"
PATHS = {"flask": ["/page", "/string", "/stream"], "django": ["/page", "/response", "/off"]}


class XssServer(DemoServer):
    """``tests.protections.xss_apps`` for ``framework`` under the agent in ``mode``."""

    def __init__(self, framework, mode, tmpdir):  # not DemoServer.__init__, which starts the demo app
        self.kind = "wsgiref"
        self.events_file = os.path.join(tmpdir, "events.jsonl")
        self.log = open(os.path.join(tmpdir, "server.log"), "wb")
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "DJANGO_")))
        env.update(SQREEN_FORCE_START="1", SQREEN_MODE=mode, SQREEN_EVENTS_FILE=self.events_file,
                   PYTHONPATH=ROOT)
        command = [sys.executable, "-m", "tests.protections.xss_apps", framework, "0"]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode("ascii", "replace")
        assert line.startswith("LISTENING "), self.output()
        self.port = int(line.split()[1])


@pytest.fixture(params=[(framework, mode) for framework in ("flask", "django")
                        for mode in ("monitor", "block")], ids=lambda p: "-".join(p))
def server(request, tmpdir):
    framework, mode = request.param
    pytest.importorskip(framework)
    srv = XssServer(framework, mode, str(tmpdir))
    srv.framework, srv.mode = framework, mode
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def test_reflected_xss_through_safe(server):
    benign = [server.request("GET", "/page?" + urlencode({"q": q, "comment": c}))
              for q, c in (("a < b", "x > y and y < z"), ("<script>alert(1)</script>", "O'Brien & co"))]
    pages = {}
    for path in PATHS[server.framework]:
        query = urlencode({"q": "<script>alert(1)</script>", "comment": PAYLOAD})
        pages[path] = server.request("GET", path + "?" + query)
    events = [e for e in server.all_events() if e["kind"] == "attack"]
    assert [status for status, _, _ in benign] == [200, 200]
    assert b'<div class="comment">x > y and y < z</div>' in benign[0][2]  # unescaped, no markup
    assert sorted(e["request"]["path"] for e in events) == sorted(PATHS[server.framework]), events
    for event in events:
        assert event["attack_type"] == "xss" and event["blocked"] == (server.mode == "block")
        assert event["input"] == {"source": "query", "name": "comment", "value": PAYLOAD}
        assert event["detail"]["reason"] == "tag" and event["detail"]["context"] == "text"
    for path, (status, _, body) in pages.items():
        assert status == 200, (path, body)
        assert ESCAPED_Q in body  # the engine's own escaping, never reported
        if server.mode == "block":
            assert PAYLOAD.encode() not in body and DEFUSED in body, (path, body)
        else:
            assert PAYLOAD.encode() in body, (path, body)
