"""sqlite3 (standard library): every query text is checked for SQL injection before it runs.

``execute``, ``executemany`` and ``executescript`` of connections and
cursors are methods of C types, so ``connect`` (as ``sqlite3.connect`` and
``sqlite3.dbapi2.connect``) is made to pass a hooked subclass of the
connection factory (the application's own, when it gives one), whose
``cursor()`` in turn hands out a hooked subclass of the cursor factory (see
``sqreen.instrumentation._wrapsub``). Objects stay instances of the
classes the application expects.

On some Python versions a connection's ``execute`` runs through its
``cursor().execute``: the query the connection already checked is noted
for the thread while the call runs, and the cursor does not check it again,
so one attack makes one event.

Known gaps: connections made before the patch (sqlite3 imported before the
agent started) and ``sqlite3.Connection(...)`` instantiated directly are
not checked.
"""
from __future__ import absolute_import

import threading

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
_local = threading.local()


def _connection_pre(keyword):
    def check_connection_query(instance, args, kwargs):
        query = args[0] if args else kwargs.get(keyword)
        _attack_report.check_sql(query, DIALECT, DRIVER)
        _local.checked = query

    return check_connection_query


def _forget(instance, args, kwargs, *result):
    _local.checked = None


def _cursor_pre(keyword):
    def check_cursor_query(instance, args, kwargs):
        query = args[0] if args else kwargs.get(keyword)
        if query is not None and getattr(_local, "checked", None) is query:
            _local.checked = None  # the connection that called us checked this very text
            return
        _attack_report.check_sql(query, DIALECT, DRIVER)

    return check_cursor_query


def hooks(sqlite3):
    """The ``FactoryArgument`` that makes ``sqlite3.connect`` hand out checked connections."""
    cursor_hooks = {}
    connection_hooks = {}
    for name, keyword in METHODS:
        cursor_point = HookPoint("sqlite3.Cursor." + name)
        cursor_point.add(pre=_cursor_pre(keyword))
        cursor_hooks[name] = cursor_point
        connection_point = HookPoint("sqlite3.Connection." + name)
        connection_point.add(pre=_connection_pre(keyword), post=_forget, failing=_forget)
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
