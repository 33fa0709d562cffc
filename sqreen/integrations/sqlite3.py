"""sqlite3 (standard library): every query text is checked for SQL injection before it runs.

``execute``, ``executemany`` and ``executescript`` of connections and
cursors are methods of C types, so ``connect`` (as ``sqlite3.connect`` and
``sqlite3.dbapi2.connect``) is made to pass a hooked subclass of the
connection factory (the application's own, when it gives one), whose
``cursor()`` in turn hands out a hooked subclass of the cursor factory (see
``sqreen.instrumentation._wrapsub``). Objects stay instances of the
classes the application expects.

On the Python versions where a connection's ``execute`` (``executemany``,
``executescript``) runs through ``self.cursor().execute``, looked up like
any attribute, the connection's method is left alone: the hooked cursor it
makes checks the query, once. Which methods do is found out when the module
is patched, on an in-memory database (see :func:`through_cursor`).

Known gaps: connections made before the patch (sqlite3 imported before the
agent started) and ``sqlite3.Connection(...)`` instantiated directly are
not checked.
"""
from __future__ import absolute_import

from sqreen import _attack_report, _log
from sqreen.instrumentation import HookPoint
from sqreen.instrumentation import _wrappers
from sqreen.instrumentation._wrapsub import FactoryArgument

DIALECT = "sqlite"
DRIVER = "sqlite3"
#: Method name -> the keyword its query text may be passed as.
METHODS = (("execute", "sql"), ("executemany", "sql"), ("executescript", "sql_script"))
#: ``connect``'s factory argument: keyword and position.
FACTORY = ("factory", 5)

_state = {"undo": [], "patched": []}


def _pre(keyword):
    def check_query(instance, args, kwargs):
        _attack_report.check_sql(args[0] if args else kwargs.get(keyword), DIALECT, DRIVER)

    return check_query


def through_cursor(sqlite3):
    """The names in METHODS of the ``Connection`` methods that call ``self.cursor().<name>``.

    Asked of the interpreter, not of its version: a throw-away connection
    whose cursors note the calls they get runs each method once.
    """
    seen = set()

    def noting(name):
        def method(self, *args, **kwargs):
            seen.add(name)
            return getattr(sqlite3.Cursor, name)(self, *args, **kwargs)

        return method

    probe_cursor = type("ProbeCursor", (sqlite3.Cursor,), dict((name, noting(name)) for name, _ in METHODS))

    class ProbeConnection(sqlite3.Connection):
        def cursor(self, factory=probe_cursor):
            return sqlite3.Connection.cursor(self, factory)

    conn = ProbeConnection(":memory:")
    try:
        conn.execute("CREATE TEMP TABLE probe (x)")
        conn.executemany("INSERT INTO probe VALUES (?)", [(1,)])
        conn.executescript("SELECT 1;")
    finally:
        conn.close()
    return seen


def hooks(sqlite3):
    """The ``FactoryArgument`` that makes ``sqlite3.connect`` hand out checked connections."""
    cursor_hooks = {}
    connection_hooks = {}
    try:
        via_cursor = through_cursor(sqlite3)
    except Exception:  # cannot tell: check in both (an attack through conn.execute may then make two events)
        _log.log_once("integration:sqlite3:probe", "sqreen: cannot tell how sqlite3 connections run "
                      "queries", exc_info=True)
        via_cursor = set()
    for name, keyword in METHODS:
        cursor_point = HookPoint("sqlite3.Cursor." + name)
        cursor_point.add(pre=_pre(keyword))
        cursor_hooks[name] = cursor_point
        if name not in via_cursor:
            connection_point = HookPoint("sqlite3.Connection." + name)
            connection_point.add(pre=_pre(keyword))
            connection_hooks[name] = connection_point
    connection_hooks["cursor"] = FactoryArgument("factory", 0, sqlite3.Cursor, cursor_hooks)
    return FactoryArgument(FACTORY[0], FACTORY[1], sqlite3.Connection, connection_hooks)


def patch(module):
    """Hook ``connect`` of the ``sqlite3`` package and of ``sqlite3.dbapi2`` (once per module object)."""
    if any(done is module for done in _state["patched"]):
        return
    factory = hooks(module)
    owners = [module]
    dbapi2 = getattr(module, "dbapi2", None)
    if dbapi2 is not None and dbapi2 is not module:
        owners.append(dbapi2)
    for owner in owners:
        try:
            _state["undo"].append(_wrappers.install(owner, "connect", factory))
        except Exception:
            _log.log_once("integration:sqlite3:" + getattr(owner, "__name__", "?"),
                          "sqreen: cannot hook %s.connect; its connections are not checked",
                          getattr(owner, "__name__", "?"), exc_info=True)
    _state["patched"].append(module)


def unpatch():
    """Undo :func:`patch`; connections made while it was in place keep being checked."""
    while _state["undo"]:
        _state["undo"].pop()()
    del _state["patched"][:]
