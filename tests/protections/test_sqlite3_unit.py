"""sqlite3 under the agent, each scenario in a fresh interpreter: the agent starts, then sqlite3 is imported.

A request is made current by hand (``sqreen._request.activate``); the
events file is read back after a flush.
"""
import json
import os

import pytest

from tests.helpers import run_python

ATTACK = "x' OR '1'='1"
CALLS = ["conn.execute", "conn.executemany", "conn.executescript",
         "cursor.execute", "cursor.executemany", "cursor.executescript"]

PRELUDE = """
import json, os, sys
import sqreen
assert sqreen.start()
import sqlite3
from sqreen import _log, _reporter, _request
from sqreen.instrumentation import RequestBlocked

ATTACK = %r

def in_request(query_string="q=" + ATTACK.replace("'", "%%27").replace(" ", "+").replace("=", "%%3D")):
    _request.activate(_request.Request({"REQUEST_METHOD": "GET", "PATH_INFO": "/search",
                                        "QUERY_STRING": query_string, "HTTP_X_REQUEST_ID": "rid"}))

def fresh_db(path=":memory:", **kwargs):
    conn = sqlite3.connect(path, **kwargs)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.execute("INSERT INTO users VALUES ('alice')")
    return conn

def injected(kind):
    where = "name = '%%s'" %% ATTACK
    if kind == "executemany":
        return "UPDATE users SET name = ? WHERE " + where, [("pwned",)]
    if kind == "executescript":
        return "UPDATE users SET name = 'pwned' WHERE " + where + ";", None
    return "UPDATE users SET name = 'pwned' WHERE " + where, None

def run(conn, call):
    owner, kind = call.split(".")
    target = conn if owner == "conn" else conn.cursor()
    query, params = injected(kind)
    args = (query,) if params is None else (query, params)
    try:
        getattr(target, kind)(*args)
        outcome = "ran"
    except RequestBlocked:
        outcome = "blocked"
    names = [row[0] for row in conn.execute("SELECT name FROM users")]
    return outcome, names

def events():
    _reporter.flush(10)
    path = os.environ["SQREEN_EVENTS_FILE"]
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]

def done(**result):
    print("RESULT " + json.dumps(result))
""" % (ATTACK,)


def scenario(tmpdir, body, mode="block"):
    """Run PRELUDE + body under the agent in ``mode``; return what the body passed to done()."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
    env.update(SQREEN_FORCE_START="1", SQREEN_MODE=mode,
               SQREEN_EVENTS_FILE=os.path.join(str(tmpdir), "events.jsonl"))
    _, out, err = run_python(PRELUDE + body, env=env)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert lines, (out, err)
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.parametrize("mode", ["monitor", "block"])
def test_each_entry_point_reports_one_event_per_attack(tmpdir, mode):
    result = scenario(tmpdir, """
outcomes = {}
in_request()
for call in %r:
    conn = fresh_db()
    outcomes[call] = run(conn, call)
_request.deactivate()
done(outcomes=outcomes, events=events())
""" % (CALLS,), mode)
    events = result["events"]
    for call in CALLS:
        outcome, names = result["outcomes"][call]
        if mode == "block":
            assert (outcome, names) == ("blocked", ["alice"]), call  # the query did not run
        else:
            assert (outcome, names) == ("ran", ["pwned"]), call  # the tautology hit every row
    assert len(events) == len(CALLS)  # one per call: no double report via Connection -> Cursor
    for event in events:
        assert event["kind"] == "attack" and event["attack_type"] == "sqli"
        assert event["blocked"] is (mode == "block")
        assert event["input"] == {"source": "query", "name": "q", "value": ATTACK}
        assert event["request"]["path"] == "/search" and event["request"]["request_id"] == "rid"
        detail = event["detail"]
        assert detail["driver"] == "sqlite3" and detail["dialect"] == "sqlite"
        assert "alice" not in detail["query"] and ATTACK not in detail["query"]  # masked
        start, end = detail["span"]
        assert end - start == len(ATTACK)


def test_bound_parameters_and_benign_inputs_never_trigger(tmpdir):
    result = scenario(tmpdir, """
in_request()
conn = fresh_db()
rows = conn.execute("SELECT name FROM users WHERE name = ?", (ATTACK,)).fetchall()
conn.executemany("INSERT INTO users VALUES (?)", [(ATTACK,)])
conn.cursor().execute("SELECT name FROM users WHERE name = :n", {"n": ATTACK})
_request.deactivate()
in_request("q=alice&name=O%27Brien")
rows2 = conn.execute("SELECT name FROM users WHERE name = 'alice'").fetchall()
rows3 = conn.execute("SELECT name FROM users WHERE name = 'O''Brien'").fetchall()
_request.deactivate()
done(rows=rows, rows2=rows2, rows3=rows3, events=events())
""")
    assert result["rows"] == [] and result["rows2"] == [["alice"]] and result["rows3"] == []
    assert result["events"] == []


def test_outside_a_request_nothing_happens(tmpdir):
    result = scenario(tmpdir, """
conn = fresh_db()
outcome = run(conn, "conn.execute")
done(outcome=outcome, events=events())
""")
    assert result["outcome"] == ["ran", ["pwned"]]
    assert result["events"] == []


def test_classes_and_the_applications_factory_are_kept(tmpdir):
    result = scenario(tmpdir, """
import sqlite3.dbapi2

SEEN = []

class MyConnection(sqlite3.Connection):
    def execute(self, sql, *args):
        SEEN.append(sql)
        return super(MyConnection, self).execute(sql, *args)

class MyCursor(sqlite3.Cursor):
    pass

in_request()
checks = {}
conn = fresh_db(factory=MyConnection)
checks["isinstance"] = isinstance(conn, MyConnection) and isinstance(conn, sqlite3.Connection)
checks["mine"] = run(conn, "conn.execute")[0]
checks["seen"] = any(sql.startswith("CREATE") for sql in SEEN)  # the override runs
cursor = conn.cursor(MyCursor)
checks["cursor_isinstance"] = isinstance(cursor, MyCursor) and isinstance(cursor, sqlite3.Cursor)
checks["own_cursor"] = run(conn, "cursor.execute")[0]
conn2 = sqlite3.dbapi2.connect(":memory:")
conn2.execute("CREATE TABLE users (name TEXT)")
checks["dbapi2"] = run(conn2, "conn.execute")[0]
from sqlite3 import connect
conn3 = connect(":memory:")
conn3.execute("CREATE TABLE users (name TEXT)")
checks["from_import"] = run(conn3, "cursor.execute")[0]
_request.deactivate()
done(checks=checks, events=len(events()))
""")
    checks = result["checks"]
    assert checks["isinstance"] and checks["seen"] and checks["cursor_isinstance"]
    assert checks["mine"] == checks["own_cursor"] == checks["dbapi2"] == checks["from_import"] == "blocked"
    assert result["events"] == 4


def test_an_error_in_the_agent_is_logged_once_and_the_query_runs(tmpdir):
    result = scenario(tmpdir, """
import logging
from sqreen import _attack_report
from sqreen.protections import _sql_injection

class Keep(logging.Handler):
    records = []

    def emit(self, record):
        self.records.append(record.getMessage())

logging.getLogger("sqreen").addHandler(Keep())

def broken(*args, **kwargs):
    raise RuntimeError("boom")

_sql_injection.check = broken
in_request()
outcomes = [run(fresh_db(), "conn.execute"), run(fresh_db(), "cursor.execute")]
_request.deactivate()
done(outcomes=outcomes, counters=_log.counters(), events=events(), logged=Keep.records,
     first_test=_attack_report._could_be_bent is not None)
""")
    assert result["outcomes"] == [["ran", ["pwned"]], ["ran", ["pwned"]]]
    # Each query the request's input occurs in (the attack, once per connection); the others (the
    # table's set-up, the SELECT) are ruled out before the check by the first test, where it was built.
    assert result["counters"].get("attack_report:check_sql") == (2 if result["first_test"] else 8)
    assert result["logged"] == ["sqreen: SQL injection check failed; the query runs"]
    assert result["events"] == []


def test_a_connection_made_before_the_agent_started_is_not_checked(tmpdir):
    """Documented gap: sqlite3 imported and connected before ``sqreen.start()``."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
    env.update(SQREEN_FORCE_START="1", SQREEN_MODE="block",
               SQREEN_EVENTS_FILE=os.path.join(str(tmpdir), "events.jsonl"))
    code = "import sqlite3\nearly = sqlite3.connect(':memory:')\n" + PRELUDE + """
early.execute("CREATE TABLE users (name TEXT)")
in_request()
late = fresh_db()
done(early=run(early, "conn.execute")[0], late=run(late, "conn.execute")[0])
"""
    _, out, _ = run_python(code, env=env)
    result = json.loads([line for line in out.splitlines() if line.startswith("RESULT ")][-1][7:])
    assert result["late"] == "blocked"  # sqlite3 already imported: patched at start()
    assert result["early"] == "ran"  # the connection object predates the patch


@pytest.mark.xfail(strict=True, reason="sqlite3.Connection instantiated directly bypasses connect(): "
                                       "its methods are the C type's, never hooked")
def test_connection_class_instantiated_directly(tmpdir):
    result = scenario(tmpdir, """
in_request()
conn = sqlite3.Connection(":memory:")
conn.execute("CREATE TABLE users (name TEXT)")
done(outcome=run(conn, "conn.execute")[0])
""")
    assert result["outcome"] == "blocked"


def test_which_connection_methods_run_through_a_cursor_is_asked_of_the_interpreter():
    import sqlite3
    import sys

    from sqreen.integrations.sqlite3 import METHODS, through_cursor

    # Up to 3.10 Connection.execute calls self.cursor().execute; from 3.11 on, C code on a cursor of its own.
    expected = set() if sys.version_info >= (3, 11) else set(name for name, _ in METHODS)
    assert through_cursor(sqlite3) == expected
