# -*- coding: utf-8 -*-
"""Path traversal end to end: file-serving Flask, plain WSGI and Django views on wsgiref, under the agent.

One server per mode (monitor, block) gets every request below; it is then
stopped (its last flush) and its events file read. Attacks come through the
query string (decoded by the framework, so ``%2e%2e%2f`` arrives as
``../``), a form body, a cookie and a header; the look-alikes are names a
naive ``".." in name`` check would refuse.
"""
import io
import json
import os
import subprocess
import sys

import pytest
from six.moves.urllib.parse import quote

from sqreen._demo import stop_process
from tests.helpers import ROOT
from tests.web.test_servers import Server

pytest.importorskip("flask")

SECRET = b"TOP SECRET: private file outside the public directory"


def q(value):
    return quote(value.encode("utf-8"), safe="")


# (method, route, where the input goes, the value as sent: URL-encoded for query and form)
ATTACKS = [
    ("GET", "/read", "query", q("../secret.txt")),
    ("GET", "/read", "query", q("../../../../../../../../etc/passwd")),
    ("GET", "/read", "query", "%2e%2e%2fsecret.txt"),
    ("GET", "/read", "query", "%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd"),
    ("GET", "/read", "query", "..%2fsecret.txt"),
    ("GET", "/read", "query", ".%2e/secret.txt"),
    ("GET", "/read", "query", q("./../secret.txt")),
    ("GET", "/read", "query", q("a/../../secret.txt")),
    ("GET", "/read", "query", q("sub/../../secret.txt")),
    ("GET", "/read", "query", q("..//..//..//etc/passwd")),
    ("GET", "/read", "query", q("..\\..\\secret.txt")),
    ("GET", "/read", "query", "..%5c..%5csecret.txt"),
    ("GET", "/read", "query", q("..\\/..\\/etc/passwd")),
    ("GET", "/read", "query", q("../public/../../etc/hosts")),
    ("GET", "/read", "query", q("../.htaccess")),
    ("GET", "/read", "query", q("..")),
    ("GET", "/read", "query", q("../" * 12 + "proc/self/environ")),
    ("GET", "/read", "query", q("../secret.txt\x00")),
    ("GET", "/join", "query", q("/etc/passwd")),
    ("GET", "/join", "query", "%2fetc%2fhosts"),
    ("GET", "/join", "query", q("//etc/passwd")),
    ("GET", "/join", "query", q("/proc/self/cmdline")),
    ("GET", "/join", "query", q("../secret.txt")),
    ("GET", "/image", "query", q("../../etc/passwd\x00")),
    ("GET", "/image", "query", "..%2f..%2fsecret.txt%00"),
    ("GET", "/send", "query", q("../secret.txt")),
    ("GET", "/send", "query", q("../../../etc/passwd")),
    ("GET", "/send", "query", q("/etc/passwd")),
    ("GET", "/sendfile", "query", q("../secret.txt")),
    ("GET", "/sendfile", "query", "%2e%2e/%2e%2e/%2e%2e/etc/hosts"),
    ("POST", "/delete", "form", q("../victim.txt")),
    ("POST", "/delete", "form", q("sub/../../victim2.txt")),
    ("GET", "/theme", "cookie", "../../secret"),
    ("GET", "/theme", "cookie", "..\\..\\secret"),
    ("GET", "/i18n", "header", "../../secret"),
    ("GET", "/wsgi/download", "query", q("../secret.txt")),
    ("GET", "/wsgi/download", "query", q("/etc/passwd")),
    ("GET", "/wsgi/download", "query", "..%2F..%2F..%2Fetc%2Fpasswd"),
    ("GET", "/django/download", "query", q("../secret.txt")),
    ("GET", "/django/download", "query", q("/etc/passwd")),
    ("GET", "/django/download", "query", "%2e%2e%2f%2e%2e%2fsecret.txt"),
]

# Names with dots, sub-directories, encoded text the framework decodes only once...
BENIGN = [("GET", "/read", "query", q(name)) for name in [
    "report.v2..final.txt", "..hidden", "...", "....", "a..b", "notes..txt", "foo../bar", "foo/..bar",
    "..foo/bar.txt", ".bashrc", "report.pdf", "sub/file.txt", "sub/deeper/x.txt", "sub/../report.pdf",
    "sub/./file.txt", "./report.pdf", "sub//file.txt", "sub/deeper/../../report.pdf",
    "%2e%2e%2fsecret.txt", "..%2fsecret.txt", "..%c0%af..%c0%afetc", "..%5c..%5csecret.txt",
    u"résumé.pdf", u"日本語.txt", "my file (1).txt", "~/x", ". ./. ./etc", ".. /x", "....//....//etc",
    "v1.2.3..rc1.tar.gz", "archive...zip", "a" * 120 + ".txt", u"..\u2215..\u2215secret.txt", "2024..2025",
]] + [
    ("GET", "/join", "query", q("report.pdf")),
    ("GET", "/join", "query", q("sub/file.txt")),
    ("GET", "/join", "query", q("sub/../report.v2..final.txt")),
    ("GET", "/image", "query", q("..")),
    ("GET", "/image", "query", q("logo..v2")),
    ("GET", "/send", "query", q("report.v2..final.txt")),
    ("GET", "/send", "query", q("sub/file.txt")),
    ("GET", "/send", "query", q("..hidden")),
    ("GET", "/sendfile", "query", q("a..b")),
    ("GET", "/sendfile", "query", q("sub/deeper/x.txt")),
    ("POST", "/delete", "form", q("old..backup.txt")),
    ("GET", "/theme", "cookie", "dark..v2"),
    ("GET", "/theme", "cookie", "../themes/dark"),
    ("GET", "/i18n", "header", "pt-BR"),
    ("GET", "/wsgi/download", "query", q("report.v2..final.txt")),
    ("GET", "/wsgi/download", "query", q("sub/file.txt")),
    ("GET", "/wsgi/download", "query", q("..hidden")),
    ("GET", "/django/download", "query", q("report.v2..final.txt")),
    ("GET", "/django/download", "query", q("sub/deeper/../file.txt")),
]

PUBLIC_FILES = ["report.v2..final.txt", "..hidden", "...", "....", "a..b", "notes..txt", "report.pdf",
                "sub/file.txt", "sub/deeper/x.txt", "old..backup.txt", "themes/dark..v2.css",
                "themes/dark.css", "i18n/pt-BR.txt", "logo..v2.png", "....png"]


def make_tree(root):
    base = os.path.join(root, "public")
    for name in PUBLIC_FILES:
        path = os.path.join(base, name)
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path))
        with open(path, "wb") as f:
            f.write(b"public " + name.encode())
    for name in ("secret.txt", "secret.css", "secret.txt.png", "victim.txt", "victim2.txt"):
        with open(os.path.join(root, name), "wb") as f:
            f.write(SECRET)


def send(server, index, case):
    method, route, where, value = case
    headers = {"X-Request-Id": "case-%d" % index}
    body = None
    path = route
    if where == "query":
        path += "?name=" + value
    elif where == "form":
        body = ("name=" + value).encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif where == "cookie":
        headers["Cookie"] = "theme=" + value
    else:
        headers["X-Lang"] = value
    status, _, data = server.request(method, path, body=body, headers=headers)
    return status, data


class PathServer(Server):
    """``tests.protections.path_app`` under the agent in ``mode``, with ``tests.web``'s ``request()``."""

    def __init__(self, mode, tmpdir):
        self.kind = "wsgiref"
        self.root = os.path.join(tmpdir, "root")
        make_tree(self.root)
        self.events_file = os.path.join(tmpdir, "events.jsonl")
        self.log = open(os.path.join(tmpdir, "server.log"), "wb")
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
        env.update(SQREEN_FORCE_START="1", SQREEN_MODE=mode, SQREEN_EVENTS_FILE=self.events_file,
                   PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.protections.path_app", self.root],
                                     cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode("ascii")
        assert line.startswith("LISTENING "), self.output()
        self.port = int(line.split()[1])

    def finish(self):
        """Stop the server (SIGTERM: it flushes on the way out); return its attack events."""
        stop_process(self.proc)
        self.proc.stdout.close()
        self.log.close()
        if not os.path.exists(self.events_file):
            return []
        with io.open(self.events_file, encoding="utf-8") as f:
            events = [json.loads(line) for line in f if line.strip()]
        return [e for e in events if e.get("kind") == "attack"]


_runs = {}


@pytest.fixture(scope="module", params=["monitor", "block"])
def run(request, tmpdir_factory):
    mode = request.param
    if mode not in _runs:
        server = PathServer(mode, str(tmpdir_factory.mktemp("path-" + mode)))
        try:
            responses = [send(server, index, case) for index, case in enumerate(ATTACKS + BENIGN)]
        finally:
            events = server.finish()
        by_id = {}
        for event in events:
            by_id.setdefault(event["request"]["request_id"], []).append(event)
        _runs[mode] = dict(mode=mode, responses=responses, events=by_id, root=server.root,
                           output=server.output())
    return _runs[mode]


def _decoded(case):
    from six.moves.urllib.parse import unquote

    method, route, where, value = case
    return unquote(value) if where in ("query", "form") else value


@pytest.mark.parametrize("index", range(len(ATTACKS)))
def test_attack(run, index):
    case = ATTACKS[index]
    status, body = run["responses"][index]
    events = run["events"].get("case-%d" % index, [])
    assert len(events) == 1, (case, status, events, run["output"])
    event = events[0]
    assert event["attack_type"] == "path_traversal"
    assert event["input"]["source"] == case[2]
    assert event["input"]["value"] == _decoded(case)
    assert event["request"]["path"] == case[1]
    assert SECRET not in body or run["mode"] == "monitor"
    if run["mode"] == "block":
        assert status == 403 and event["blocked"] and event["event_id"].encode() in body, (case, status)
    else:
        assert status != 403 and not event["blocked"], (case, status)


def test_monitor_lets_the_attack_through_and_block_stops_it(run):
    read_secret = run["responses"][0]
    victims = [os.path.exists(os.path.join(run["root"], name)) for name in ("victim.txt", "victim2.txt")]
    if run["mode"] == "block":
        assert read_secret[0] == 403 and SECRET not in read_secret[1]
        assert victims == [True, True]
    else:
        assert read_secret == (200, SECRET)
        assert victims == [False, False]


@pytest.mark.parametrize("index", range(len(BENIGN)))
def test_look_alike(run, index):
    case = BENIGN[index]
    status, body = run["responses"][len(ATTACKS) + index]
    assert run["events"].get("case-%d" % (len(ATTACKS) + index)) is None, case
    assert status in (200, 404), (case, status, body)


def test_look_alikes_that_exist_are_served(run):
    served = [status for status, _ in run["responses"][len(ATTACKS):]].count(200)
    assert served >= 25, run["responses"][len(ATTACKS):]


def test_corpus_sizes():
    assert len(ATTACKS) >= 30 and len(BENIGN) >= 50
