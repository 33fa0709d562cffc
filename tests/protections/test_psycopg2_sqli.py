"""SQL injection on psycopg2 against the real PostgreSQL, in requests served in-process by the middleware."""
from __future__ import unicode_literals

import json
import os

import pytest

from sqreen import _log, _request
from sqreen.instrumentation import _budget
from tests.helpers import require_service, run_python
from tests.web.conftest import Agent, in_request

psycopg2 = pytest.importorskip("psycopg2")
import psycopg2.extensions  # noqa: E402
import psycopg2.extras  # noqa: E402
from psycopg2 import sql  # noqa: E402

from sqreen.integrations import psycopg2 as integration  # noqa: E402

TABLE = "sqreen_psycopg2_items"
DSN = dict(host="127.0.0.1", port=5432, user="postgres", dbname="test", connect_timeout=3)
ATTACK = "x' OR '1'='1"
DROP = "x'; DELETE FROM %s; --" % TABLE


@pytest.fixture
def agent(monkeypatch, tmpdir):
    _log.reset()
    _request.deactivate()
    yield Agent(monkeypatch, str(tmpdir))
    _request.deactivate()
    _budget.stop()


def qs(**params):
    from six.moves.urllib.parse import urlencode

    return urlencode(params)


def param(request, name):
    return request.query[name][0]


@pytest.fixture
def connect():
    """``connect(**kwargs)`` through a patched psycopg2; the table holds rows 1 'a', 2 'b'."""
    integration.patch(psycopg2)
    opened = []

    def connect(**kwargs):
        options = dict(DSN)
        options.update(kwargs)
        try:
            conn = psycopg2.connect(**options)
        except psycopg2.OperationalError:
            require_service("PostgreSQL on 127.0.0.1:5432 is down")
        conn.autocommit = True
        opened.append(conn)
        return conn

    setup = connect()
    with setup.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS %s; CREATE TABLE %s (id int, name text);"
                    "INSERT INTO %s VALUES (1, 'a'), (2, 'b')" % (TABLE, TABLE, TABLE))
    yield connect
    integration.unpatch()
    with setup.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS %s" % TABLE)
    for conn in opened:
        conn.close()


def count(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM %s" % TABLE)
        return cur.fetchone()[0]


def select_by_name(cursor_of):
    def app(request):
        cur = cursor_of()
        cur.execute("SELECT name FROM %s WHERE name = '%s' ORDER BY id" % (TABLE, param(request, "name")))
        return [tuple(row)[0] if not isinstance(row, dict) else row["name"] for row in cur.fetchall()]

    return app


def test_monitor_reports_one_event_and_the_query_runs(agent, connect):
    conn = connect()
    served, results = in_request(agent, select_by_name(conn.cursor), qs(name=ATTACK))
    assert served.status == "200 OK" and results == [["a", "b"]]
    [event] = agent.attacks()
    assert event["attack_type"] == "sqli" and event["blocked"] is False
    assert event["input"] == {"source": "query", "name": "name", "value": ATTACK}
    assert event["detail"]["driver"] == "psycopg2" and event["detail"]["dialect"] == "postgresql"
    assert event["request"]["path"] == "/"


def test_block_answers_403_with_one_event_and_the_query_does_not_run(agent, connect):
    conn = connect()
    served, results = in_request(agent, select_by_name(conn.cursor), qs(name=DROP), mode="block")
    assert served.status == "403 Forbidden" and results == []
    [event] = agent.attacks()
    assert event["blocked"] is True and event["input"]["value"] == DROP
    assert event["event_id"].encode() in served.body
    assert count(conn) == 2


def test_benign_concatenation_and_bound_parameters_do_not_trigger(agent, connect):
    conn = connect()

    def app(request):
        cur = conn.cursor()
        cur.execute("SELECT name FROM %s WHERE id = %s" % (TABLE, param(request, "id")))
        first = cur.fetchall()
        cur.execute("SELECT name FROM " + TABLE + " WHERE name = %s OR name = %s",
                    (param(request, "name"), param(request, "id")))
        return first, cur.fetchall()

    served, results = in_request(agent, app, qs(id="2", name=ATTACK), mode="block")
    assert served.status == "200 OK" and results == [([("b",)], [])]
    assert agent.attacks() == []


def test_outside_a_request_nothing_happens(agent, connect):
    agent.configure(mode="block")
    conn = connect()
    cur = conn.cursor()
    cur.execute("SELECT name FROM %s WHERE name = '%s'" % (TABLE, ATTACK))
    assert len(cur.fetchall()) == 2 and agent.attacks() == []


@pytest.mark.parametrize("connect_kwargs, cursor_kwargs, row_type", [
    ({"connection_factory": psycopg2.extras.DictConnection}, {}, psycopg2.extras.DictRow),
    ({"connection_factory": psycopg2.extras.RealDictConnection}, {}, dict),
    ({"cursor_factory": psycopg2.extras.RealDictCursor}, {}, dict),
    ({}, {"cursor_factory": psycopg2.extras.DictCursor}, psycopg2.extras.DictRow),
    ({"connection_factory": psycopg2.extras.DictConnection},
     {"cursor_factory": psycopg2.extras.NamedTupleCursor}, tuple),
    ({"connection_factory": psycopg2.extras.LoggingConnection}, {}, tuple),
])
def test_factories_keep_their_classes_and_are_checked(agent, connect, connect_kwargs, cursor_kwargs,
                                                      row_type):
    conn = connect(**connect_kwargs)
    if isinstance(conn, psycopg2.extras.LoggingConnection):
        conn.initialize(open(os.devnull, "w"))
    expected_conn = connect_kwargs.get("connection_factory", psycopg2.extensions.connection)
    assert isinstance(conn, expected_conn) and isinstance(conn, psycopg2.extensions.connection)
    cur = conn.cursor(**cursor_kwargs)
    assert isinstance(cur, psycopg2.extensions.cursor)
    if "cursor_factory" in cursor_kwargs:
        assert isinstance(cur, cursor_kwargs["cursor_factory"])
    cur.execute("SELECT name FROM %s ORDER BY id" % TABLE)
    assert isinstance(cur.fetchone(), row_type)

    served, _ = in_request(agent, select_by_name(lambda: conn.cursor(**cursor_kwargs)), qs(name=ATTACK),
                           mode="block")
    assert served.status == "403 Forbidden" and len(agent.attacks()) == 1
    served, results = in_request(agent, select_by_name(lambda: conn.cursor(**cursor_kwargs)), qs(name="b"))
    assert served.status == "200 OK" and results == [["b"]] and len(agent.attacks()) == 1


def test_named_cursor(agent, connect):
    conn = connect()
    conn.autocommit = False
    served, _ = in_request(agent, select_by_name(lambda: conn.cursor("sqreen_named")), qs(name=ATTACK),
                           mode="block")
    assert served.status == "403 Forbidden" and len(agent.attacks()) == 1
    conn.rollback()
    served, results = in_request(agent, select_by_name(lambda: conn.cursor("sqreen_named2")), qs(name="a"))
    assert results == [["a"]] and len(agent.attacks()) == 1
    conn.rollback()


def test_composed_sql_is_rendered_and_checked(agent, connect):
    conn = connect()

    def unsafe(request):
        cur = conn.cursor()
        cur.execute(sql.SQL("SELECT name FROM {} WHERE name = '" + param(request, "name") + "'").format(
            sql.Identifier(TABLE)))
        return cur.fetchall()

    def safe(request):
        cur = conn.cursor()
        cur.execute(sql.SQL("SELECT name FROM {} WHERE name = {}").format(
            sql.Identifier(TABLE), sql.Literal(param(request, "name"))))
        return cur.fetchall()

    served, _ = in_request(agent, unsafe, qs(name=DROP), mode="block")
    assert served.status == "403 Forbidden" and len(agent.attacks()) == 1 and count(conn) == 2
    served, results = in_request(agent, safe, qs(name=DROP), mode="block")
    assert served.status == "200 OK" and results == [[]] and len(agent.attacks()) == 1


def test_executemany_and_callproc_are_checked(agent, connect):
    conn = connect()

    def many(request):
        query = "DELETE FROM %s WHERE name = '%s' AND id = %%s" % (TABLE, param(request, "name"))
        conn.cursor().executemany(query, [(1,), (2,)])

    served, _ = in_request(agent, many, qs(name=ATTACK), mode="block")
    assert served.status == "403 Forbidden" and len(agent.attacks()) == 1 and count(conn) == 2

    def proc(request):
        conn.cursor().callproc(param(request, "proc"))

    served, _ = in_request(agent, proc, qs(proc="now(); DELETE FROM %s; SELECT now" % TABLE), mode="block")
    assert served.status == "403 Forbidden" and len(agent.attacks()) == 2 and count(conn) == 2
    served, results = in_request(agent, lambda request: proc(request) or "ran", qs(proc="now"), mode="block")
    assert served.status == "200 OK" and results == ["ran"]


def test_c_functions_accept_our_objects(agent, connect):
    conn = connect(cursor_factory=psycopg2.extras.DictCursor)
    cur = conn.cursor()
    assert psycopg2.extensions.quote_ident("a b", conn) == '"a b"'
    assert psycopg2.extensions.quote_ident("a b", cur) == '"a b"'
    text = psycopg2.extensions.new_type((25,), str("SQREEN_TEXT"), lambda value, cur: value and value.upper())
    psycopg2.extensions.register_type(text, conn)
    psycopg2.extras.register_default_jsonb(conn)
    psycopg2.extras.register_default_json(cur)

    def app(request):
        psycopg2.extras.execute_values(cur, "INSERT INTO " + TABLE + " VALUES %s",
                                       [(3, param(request, "name")), (4, "d")])
        cur.execute("SELECT name FROM %s WHERE id >= 3 ORDER BY id" % TABLE)
        rows = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT '{\"k\": 1}'::jsonb")
        return rows, cur.fetchone()[0]

    served, results = in_request(agent, app, qs(name=ATTACK), mode="block")
    assert served.status == "200 OK" and agent.attacks() == []
    assert results == [([ATTACK.upper(), "D"], {"k": 1})]


def test_an_agent_error_is_logged_once_and_the_query_runs(agent, connect, monkeypatch):
    conn = connect()

    def broken(cursor, query):
        raise RuntimeError("boom")

    monkeypatch.setattr(integration, "query_text", broken)
    for _ in range(2):
        served, results = in_request(agent, select_by_name(conn.cursor), qs(name=ATTACK), mode="block")
        assert served.status == "200 OK" and results == [["a", "b"]]
    assert agent.attacks() == []
    assert sum(_log.counters().values()) == 2


def test_the_import_hook_patches_psycopg2_when_the_app_imports_it(tmpdir):
    events = os.path.join(str(tmpdir), "events.jsonl")
    code = """
import json, sys
import sqreen
sqreen.start()
before = "psycopg2" in sys.modules
import psycopg2
from sqreen import wsgi
from tests.web.conftest import make_environ, serve
try:
    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="test", connect_timeout=3)
except psycopg2.OperationalError:
    print(json.dumps("down")); sys.exit(0)

def app(environ, start_response):
    conn.cursor().execute("SELECT 1 WHERE 'a' = '%s'" % wsgi.current_request().query["q"][0])
    start_response("200 OK", [])
    return [b"ok"]

served = serve(wsgi.middleware(app), make_environ("/", query="q=x%27+OR+%271%27%3D%271"))
print(json.dumps([before, served.status, type(conn).__mro__[1].__name__]))
"""
    out = run_python(code, env={"SQREEN_FORCE_START": "1", "SQREEN_MODE": "block",
                                "SQREEN_EVENTS_FILE": events})[1]
    result = json.loads(out.strip().splitlines()[-1])
    if result == "down":
        require_service("PostgreSQL on 127.0.0.1:5432 is down")
    assert result == [False, "403 Forbidden", "connection"]
