"""SQL injection through Django's ORM and SQLAlchemy, end to end, over SQLite, PostgreSQL and MariaDB.

``tests.protections.orm_app`` runs under the agent on a real server
(wsgiref, loopback), once per database and mode. The agent hooks only the
drivers (sqlite3, psycopg2, MySQLdb under Django, PyMySQL under
SQLAlchemy): ``raw()``, ``extra()``, ``RawSQL``, ``cursor.execute`` and
``text()`` (Core and ORM Session) reach them with the request's input in
the query text when the app concatenates it, and never when it binds it.
"""
import json
import os
import subprocess
import sys
import uuid

import pytest
from six.moves.urllib.parse import urlencode

from sqreen._demo import stop_process
from tests.helpers import ROOT, require_service
from tests.web.test_servers import Server

pytest.importorskip("django")
pytest.importorskip("sqlalchemy")

DJANGO_WAYS = ["raw", "extra", "rawsql", "cursor"]
SA_WAYS = ["core", "orm"]
WRITES = {"extra", "cursor", "core", "orm"}  # they add 1 to the score of each row they match
# A tautology, an alternative condition, a boolean-blind probe: each runs on the three databases.
ATTACKS = ["x' OR '1'='1", "bob' OR name <> '", "alice' AND 1=1 AND 'a'='a"]
BENIGN_CONCAT = ["alice", "bob", "Robert Tables", "select and drop are words"]
BENIGN_BOUND = ["O'Brien", "x' OR '1'='1", "bob' -- ", "1; DROP TABLE users"]
SCORES = {"alice": 10, "bob": 20, "O'Brien": 30}
# The driver each layer reaches: Django's MySQL backend is MySQLdb, SQLAlchemy's URL here PyMySQL.
DRIVERS = {"sqlite": ("sqlite3", "sqlite3"), "postgresql": ("psycopg2", "psycopg2"),
           "mysql": ("MySQLdb", "pymysql")}


def _available(db):
    """Skip (or fail under CI) when ``db``'s server or drivers are missing."""
    if db == "sqlite":
        return
    modules = {"postgresql": ["psycopg2"], "mysql": ["MySQLdb", "pymysql"]}[db]
    for name in modules:
        try:
            __import__(name)
        except ImportError:
            require_service("%s is not installed in this environment" % name)
    if db == "postgresql":
        import psycopg2

        try:
            psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test",
                             connect_timeout=3).close()
        except psycopg2.OperationalError:
            require_service("PostgreSQL on 127.0.0.1:5432 is down")
    else:
        import pymysql

        try:
            pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database="test",
                            connect_timeout=3).close()
        except pymysql.err.OperationalError:
            require_service("MariaDB on 127.0.0.1:3306 is down")


class OrmServer(Server):
    """The ORM app under the agent in ``mode`` over ``db`` (``Server``'s client side, tests/web)."""

    def __init__(self, db, mode, tmpdir):  # not Server.__init__, which starts the generic app
        self.kind, self.db, self.mode = "wsgiref", db, mode
        self.events_file = os.path.join(tmpdir, "events.jsonl")
        self.log = open(os.path.join(tmpdir, "server.log"), "wb")
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "DJANGO_", "ORM_")))
        env.update(SQREEN_FORCE_START="1", SQREEN_MODE=mode, SQREEN_EVENTS_FILE=self.events_file,
                   ORM_DB=db, ORM_TABLE="sqreen_orm_%s" % uuid.uuid4().hex[:12],
                   ORM_SQLITE=os.path.join(tmpdir, "orm"), PYTHONPATH=ROOT)
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.protections.orm_app.serve", "0"],
                                     cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode("ascii")
        if not line.startswith("LISTENING "):
            stop_process(self.proc)
            raise AssertionError("the ORM app did not start:\n%s" % self.output())
        self.port = int(line.split()[1])

    def stop(self):
        Server.stop(self)
        self.proc.stdout.close()

    def get(self, path, q):
        """``(status, decoded JSON body or None, request id)`` of ``GET path?q=...``."""
        request_id = uuid.uuid4().hex
        status, _, body = self.request("GET", "%s?%s" % (path, urlencode({"q": q})),
                                       headers={"X-Request-Id": request_id})
        return status, json.loads(body.decode("utf-8")) if status == 200 else body, request_id

    def events(self, request_id):
        self.request("GET", "/flush")
        if not os.path.exists(self.events_file):
            return []
        with open(self.events_file) as f:
            events = [json.loads(line) for line in f if line.strip()]
        return [e for e in events if (e.get("request") or {}).get("request_id") == request_id]

    def scores(self, api):
        return self.json("GET", "/%s/scores" % api)


@pytest.fixture(scope="module", params=[(db, mode) for db in ("sqlite", "postgresql", "mysql")
                                        for mode in ("monitor", "block")], ids="-".join)
def server(request, tmpdir_factory):
    db, mode = request.param
    _available(db)
    srv = OrmServer(db, mode, str(tmpdir_factory.mktemp("orm-%s-%s" % (db, mode))))
    try:
        yield srv
        srv.request("GET", "/drop")
    finally:
        srv.stop()


def _path(way):
    return "/%s/%s/" % ("sa" if way in SA_WAYS else "dj", way)


def _api(way):
    return "sa" if way in SA_WAYS else "dj"


@pytest.mark.parametrize("way", DJANGO_WAYS + SA_WAYS)
def test_concatenated_attacks_are_flagged_once_and_blocked_before_running(server, way):
    for attack in ATTACKS:
        before = server.scores(_api(way))
        status, body, request_id = server.get(_path(way) + "concat", attack)
        events = server.events(request_id)
        assert len(events) == 1, (attack, status, body, events, server.output())
        event = events[0]
        assert event["attack_type"] == "sqli" and event["rule"] == "sqli-structure"
        assert event["input"] == {"source": "query", "name": "q", "value": attack}
        assert event["detail"]["dialect"] == server.db and event["blocked"] is (server.mode == "block")
        assert event["detail"]["driver"] == DRIVERS[server.db][way in SA_WAYS]
        after = server.scores(_api(way))
        if server.mode == "block":
            assert status == 403 and event["event_id"].encode() in body
            assert after == before  # the query never reached the database
        else:
            assert status == 200, (attack, body, server.output())
            if way in WRITES:
                assert body["result"] >= 1 and after != before
            assert body["result"]  # the injected condition ran


@pytest.mark.parametrize("way", DJANGO_WAYS + SA_WAYS)
def test_bound_and_plain_inputs_are_never_flagged(server, way):
    cases = [("param", q) for q in BENIGN_BOUND] + [("concat", q) for q in BENIGN_CONCAT]
    for style, q in cases:
        before = server.scores(_api(way))
        status, body, request_id = server.get(_path(way) + style, q)
        assert status == 200, (style, q, body, server.output())
        assert server.events(request_id) == [], (style, q)
        matched = [name for name in SCORES if name == q]
        if way in WRITES:
            assert body["result"] == len(matched)
            expected = dict(before)
            for name in matched:
                expected[name] += 1
            assert server.scores(_api(way)) == expected
        else:
            assert body["result"] == matched
