"""pymongo end to end: a vulnerable Flask app on a real server (wsgiref, loopback) under the agent, in
monitor and block mode, against the tests' wire-level MongoDB (and a real one when
``SQREEN_TEST_MONGODB_URL`` is set)."""
import json
import os
import subprocess
import sys

import pytest
from six.moves.urllib.parse import quote, urlencode

from tests import mongo_server
from tests.helpers import ROOT
from tests.protections.test_sqlite3_flask import DemoServer

pytest.importorskip("flask")
pymongo = pytest.importorskip("pymongo")
pytest.importorskip("mongomock")

from tests.protections import _mongo_app  # noqa: E402

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
NE = {"$ne": None}


def form(path, **fields):
    return ("POST", path, FORM, urlencode(sorted(fields.items())))


def body(path, doc):
    return ("POST", path, JSON, json.dumps(doc))


def get(path, query):
    return ("GET", path + "?" + query, None, None)


ATTACKS = [
    form("/login", **{"username[$ne]": "x", "password[$ne]": "x"}),
    body("/login", {"username": "admin", "password": NE}),
    body("/login", {"username": {"$gt": ""}, "password": {"$gt": ""}}),
    body("/login", {"username": "admin", "password": {"$regex": ".*"}}),
    form("/login", **{"username": "admin", "password[$regex]": "^s3"}),
    body("/login", {"username": {"$in": ["admin"]}, "password": {"$exists": True}}),
    body("/login", {"username": "admin", "password": {"$nin": ["x"]}}),
    body("/login", {"username": "admin", "password": {"$not": {"$eq": "x"}}}),
    get("/users", "role[$ne]=user"),
    get("/users", "username[$regex]=.*"),
    get("/users", "username[$in][]=admin&username[$in][]=alice"),
    get("/users", "$where=1"),
    get("/users", "$expr[$eq][]=1&$expr[$eq][]=1"),
    get("/count", "team[$ne]=x"),
    get("/distinct", "role[$gt]="),
    body("/teams", {"team": NE}),
    body("/profile", {"token": NE, "bio": "pwned"}),
    body("/reset", {"username": {"$gt": ""}}),
    form("/unsubscribe", **{"token[$ne]": "x"}),
    get("/where", urlencode({"name": "' || '1'=='1"})),
    get("/where", urlencode({"name": "x' || this.role == 'admin"})),
    get("/where", urlencode({"name": "'; return true; var a='"})),
    get("/where", urlencode({"name": "admin' && this.password.match(/^s/) && 'a'=='a"})),
    get("/where", urlencode({"name": "x' + '' == 'x"})),
]

BENIGN = [
    form("/login", username="alice", password="wonderland"),
    body("/login", {"username": "O'Brien", "password": "dublin"}),
    body("/login", {"username": "$dollar", "password": "cash"}),
    form("/login", username="$ne", password="$gt"),
    body("/login", {"username": '{"$ne": null}', "password": "x"}),
    form("/login", username="a[b]", password="{}"),
    body("/login", {"username": "alice", "password": "wonderland", "meta": {"tz": "$UTC"}}),
    body("/login", {"username": "alice", "password": "' || '1'=='1"}),
    get("/search", "q=%24"),
    get("/search", urlencode({"q": "O'Br"})),
    get("/search", urlencode({"q": "a.*"})),
    get("/search", urlencode({"q": '{"$gt": ""}'})),
    get("/search", "q=%24where"),
    get("/search", "q=" + quote(u"Zo\u00eb".encode("utf-8"))),
    get("/search", "q=" + "x" * 2000),
    get("/users", "role=user"),
    get("/users", "team=dev"),
    get("/users", urlencode({"username": "O'Brien"})),
    get("/users", "username=%24dollar"),
    get("/users", "tags[]=x&tags[]=y"),
    get("/count", "team=dev"),
    get("/count", "team=%24ne"),
    get("/distinct", "role=user"),
    get("/distinct", urlencode({"role": '{"$gt": ""}'})),
    body("/teams", {"team": "dev"}),
    body("/teams", {"team": "$team"}),
    body("/profile", {"token": "t-alice", "bio": "I have $5, {braces} and 'quotes'"}),
    body("/profile", {"token": "t-alice", "bio": "$set"}),
    body("/profile", {"token": "t-alice", "bio": '{"$ne": 1}'}),
    body("/reset", {"username": "alice"}),
    form("/reset", username="O'Brien"),
    body("/unsubscribe", {"token": "nope"}),
    get("/where", "name=alice"),
    get("/where", urlencode({"name": "bob smith"})),
    get("/where-safe", urlencode({"name": "O'Brien"})),
    get("/where-safe", urlencode({"name": "' || '1'=='1"})),
    get("/where-safe", urlencode({"name": "back\\slash \"quoted\""})),
]


class MongoAppServer(DemoServer):
    """``tests.protections._mongo_app`` under the agent in ``mode``, on database ``db``."""

    def __init__(self, mode, tmpdir, url, db):
        self.kind = "wsgiref"
        self.events_file = os.path.join(tmpdir, "events.jsonl")
        self.log = open(os.path.join(tmpdir, "server.log"), "wb")
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
        env.update(SQREEN_FORCE_START="1", SQREEN_MODE=mode, SQREEN_EVENTS_FILE=self.events_file,
                   PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        command = [sys.executable, "-m", "tests.protections._mongo_app", url, db, "0", "--agent"]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode("ascii")
        assert line.startswith("LISTENING "), self.output()
        self.port = int(line.split()[1])


target = mongo_server.target_fixture()


@pytest.fixture(params=["monitor", "block"])
def app(request, target, tmpdir):
    client = pymongo.MongoClient(target.url, serverSelectionTimeoutMS=5000)
    db = "sqreen_e2e_" + request.param
    _mongo_app.seed(client, db)
    srv = MongoAppServer(request.param, str(tmpdir), target.url, db)
    srv.mode = request.param
    srv.users = client[db].users
    yield srv
    if srv.proc.poll() is None:
        srv.stop()
    client.drop_database(db)
    client.close()


def send(server, request):
    method, path, content_type, data = request
    headers = {"Content-Type": content_type} if content_type else {}
    return server.request(method, path, body=data.encode("utf-8") if data else None, headers=headers)


def test_attacks_and_benign_requests(app):
    benign = [send(app, r) for r in BENIGN]
    attacks = [send(app, r) for r in ATTACKS]
    tokens = sorted(u["token"] for u in app.users.find())
    bios = [u.get("bio") for u in app.users.find()]
    events = app.all_events()
    for request, (status, _, data) in zip(BENIGN, benign):
        assert status in (200, 401, 501), (request, status, data, app.output())
    attack_events = [e for e in events if e["kind"] == "attack"]
    assert len(attack_events) == len(ATTACKS), [(e["request"]["path"], e["input"]) for e in attack_events]
    assert all(e["attack_type"] == "nosqli" and e["detail"]["driver"] == "pymongo" for e in attack_events)
    assert [e["request"]["path"] for e in attack_events] == [r[1].split("?")[0] for r in ATTACKS]
    if app.mode == "block":
        ids = set(e["event_id"] for e in attack_events)
        for request, (status, _, data) in zip(ATTACKS, attacks):
            assert status == 403, (request, status, data)
            assert any(i.encode("ascii") in data for i in ids)
        assert "pwned" not in bios and len(tokens) == len(_mongo_app.USERS)
    else:
        assert all(status != 403 for status, _, _ in attacks) and not any(e["blocked"] for e in attack_events)
        assert attacks[1][0] == 200 and attacks[1][2] == b"Welcome, admin"  # the login bypass worked
        profile = ATTACKS.index(body("/profile", {"token": NE, "bio": "pwned"}))
        assert attacks[profile][2] == b"updated 1" and len(tokens) == len(_mongo_app.USERS) - 1
