"""SQL injection on PyMySQL and MySQLdb against the real MariaDB, in requests served in-process."""
from __future__ import unicode_literals

import importlib

import pytest

from sqreen.integrations import mysqldb, pymysql as pymysql_integration
from tests.helpers import require_service
from tests.protections import test_psycopg2_sqli as common
from tests.protections.test_psycopg2_sqli import in_request, param, qs

TABLE = "sqreen_mysql_items"
ATTACK = "x' OR '1'='1"
agent = common.agent  # the fixture
DROP = "x' OR 1=1; -- "


def _pymysql():
    module = pytest.importorskip("pymysql")
    return module, pymysql_integration, dict(password="", database="test"), module.err.OperationalError


def _mysqldb():
    try:
        module = importlib.import_module("MySQLdb")
    except ImportError:
        pytest.skip("mysqlclient is not installed (it did not build for this Python)")
    return module, mysqldb, dict(passwd="", db="test"), module.OperationalError


@pytest.fixture(params=["pymysql", "MySQLdb"])
def driver(request):
    """``(module, connect)``: the driver patched, the table holding rows 1 'a', 2 'b'."""
    module, integration, options, down = _pymysql() if request.param == "pymysql" else _mysqldb()
    integration.patch(module)
    opened = []

    def connect(**kwargs):
        kwargs.update(options)
        try:
            conn = module.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3, **kwargs)
        except down:
            require_service("MariaDB on 127.0.0.1:3306 is down")
        conn.autocommit(True)
        opened.append(conn)
        return conn

    setup = connect()
    cur = setup.cursor()
    cur.execute("DROP TABLE IF EXISTS %s" % TABLE)
    cur.execute("CREATE TABLE %s (id int, name text)" % TABLE)
    cur.execute("INSERT INTO %s VALUES (1, 'a'), (2, 'b')" % TABLE)
    yield module, connect
    integration.unpatch()
    setup.cursor().execute("DROP TABLE IF EXISTS %s" % TABLE)
    for conn in opened:
        conn.close()


def count(conn):
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM %s" % TABLE)
    return cur.fetchone()[0]


def delete_by_name(conn):
    def app(request):
        return conn.cursor().execute("DELETE FROM %s WHERE name = '%s'" % (TABLE, param(request, "name")))

    return app


def test_monitor_one_event_the_query_runs_and_execute_returns_the_row_count(agent, driver):
    module, connect = driver
    conn = connect()
    served, results = in_request(agent, delete_by_name(conn), qs(name=ATTACK))
    assert served.status == "200 OK" and results == [2] and count(conn) == 0
    [event] = agent.attacks()
    assert event["input"] == {"source": "query", "name": "name", "value": ATTACK}
    assert event["detail"]["dialect"] == "mysql" and event["detail"]["driver"] in ("pymysql", "MySQLdb")


def test_block_403_one_event_and_the_table_is_untouched(agent, driver):
    module, connect = driver
    conn = connect()
    served, results = in_request(agent, delete_by_name(conn), qs(name=DROP), mode="block")
    assert served.status == "403 Forbidden" and results == [] and count(conn) == 2
    [event] = agent.attacks()
    assert event["blocked"] is True


def test_benign_inputs_bound_parameters_and_no_request(agent, driver):
    module, connect = driver
    conn = connect()

    def app(request):
        cur = conn.cursor()
        first = cur.execute("SELECT name FROM %s WHERE id = %s" % (TABLE, param(request, "id")))
        rows = list(cur.fetchall())
        cur.execute("SELECT name FROM " + TABLE + " WHERE name = %s", (param(request, "name"),))
        return first, rows, list(cur.fetchall())

    served, results = in_request(agent, app, qs(id="2", name=ATTACK), mode="block")
    assert served.status == "200 OK" and results == [(1, [("b",)], [])] and agent.attacks() == []
    assert conn.cursor().execute("DELETE FROM %s WHERE name = '%s'" % (TABLE, ATTACK)) == 2


def test_executemany_one_event_per_call_and_callproc(agent, driver):
    module, connect = driver
    conn = connect()

    def many(request):
        query = "UPDATE %s SET name = %%s WHERE name = '%s'" % (TABLE, param(request, "name"))
        return conn.cursor().executemany(query, [("c",), ("d",)])

    served, _ = in_request(agent, many, qs(name=DROP), mode="block")
    assert served.status == "403 Forbidden" and len(agent.attacks()) == 1 and count(conn) == 2
    served, results = in_request(agent, many, qs(name=ATTACK))
    assert served.status == "200 OK" and len(agent.attacks()) == 2

    def insert_many(request):
        query = "INSERT INTO %s (id, name) VALUES (%%s, '%s')" % (TABLE, param(request, "name"))
        return conn.cursor().executemany(query, [(5,), (6,)])

    served, results = in_request(agent, insert_many, qs(name="x'), (7, 'y"))
    assert served.status == "200 OK" and results == [4] and len(agent.attacks()) == 3

    served, _ = in_request(agent, lambda request: conn.cursor().callproc(param(request, "proc")),
                           qs(proc="p(); DELETE FROM %s; --" % TABLE), mode="block")
    assert served.status == "403 Forbidden" and len(agent.attacks()) == 4


def test_dict_cursor_and_backslash_escapes(agent, driver):
    module, connect = driver
    conn = connect(cursorclass=module.cursors.DictCursor)
    cur = conn.cursor()
    assert isinstance(cur, module.cursors.DictCursor)
    cur.execute("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")

    def app(request):
        # The app escapes quotes with backslashes, which this server no longer honours.
        value = param(request, "name").replace("'", "\\'")
        cur.execute("SELECT name FROM %s WHERE name = '%s'" % (TABLE, value))
        return cur.fetchall()

    served, _ = in_request(agent, app, qs(name="' OR 1=1 -- "), mode="block")
    assert served.status == "403 Forbidden" and len(agent.attacks()) == 1
    served, results = in_request(agent, app, qs(name="b"), mode="block")
    assert served.status == "200 OK" and [row["name"] for row in results[0]] == ["b"]
