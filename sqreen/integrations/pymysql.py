"""PyMySQL: the text of every cursor ``execute``, ``executemany`` and ``callproc`` is checked for SQLi.

Cursors are Python classes: their base ``pymysql.cursors.Cursor`` is hooked
in place, which covers every cursor class deriving from it (``DictCursor``,
``SSCursor``, the application's own). The text checked is the query given
to the method (parameters are escaped into the text by the driver and never
trigger), and ``CALL name()`` for ``callproc``. While ``executemany`` runs,
the ``execute`` calls it makes on the same cursor are not checked again, so
one attack makes one event. ``execute`` keeps returning the row count.

Dialect: MySQL, with ``NO_BACKSLASH_ESCAPES`` read on every check from the
status flags the server sends with each response (free, always current),
and ``ANSI_QUOTES`` taken from the ``sql_mode`` / ``init_command`` given to
``connect``. A server whose global default is ``ANSI_QUOTES`` is not seen;
then double-quoted text is read as a string instead of a name, both being
one quoted token for the check.

This module also holds the hooking MySQLdb shares (:func:`hook_cursor`).
"""
from __future__ import absolute_import

import importlib
import threading

import six

from sqreen import _attack_report, _request
from sqreen.instrumentation import hook
from sqreen.protections import _sql_lexer

DRIVER = "pymysql"
#: The server status flag of ``NO_BACKSLASH_ESCAPES``.
NO_BACKSLASH_ESCAPES = 512

_local = threading.local()


def dialect(ansi_quotes=False, backslash_escapes=True):
    """The MySQL dialect with these ``sql_mode`` switches."""
    return _sql_lexer.dialect("mysql", ansi_quotes=ansi_quotes, backslash_escapes=backslash_escapes)


def _text(value):
    if isinstance(value, bytes) and not isinstance(value, six.text_type):
        return value.decode("utf-8", "replace")
    return value


def hook_cursor(cursor_cls, driver, dialect_of):
    """Hook ``execute``, ``executemany`` and ``callproc`` of ``cursor_cls``; return the handles.

    ``dialect_of(cursor)`` gives the dialect for a cursor's connection.
    """

    def check(cursor, query):
        if query is not None and _request.current() is not None:
            _attack_report.check_sql(query, dialect_of(cursor), driver)

    def check_execute(instance, args, kwargs):
        if getattr(_local, "many", None) is instance:
            return  # executemany of this cursor checked its query already
        check(instance, args[0] if args else kwargs.get("query"))

    def check_executemany(instance, args, kwargs):
        check(instance, args[0] if args else kwargs.get("query"))
        _local.many = instance

    def end_executemany(instance, args, kwargs, *result):
        _local.many = None

    def check_callproc(instance, args, kwargs):
        name = args[0] if args else kwargs.get("procname")
        if name is not None:
            check(instance, u"CALL %s()" % (_text(name),))

    return [
        hook((cursor_cls, "execute"), pre=check_execute),
        hook((cursor_cls, "executemany"), pre=check_executemany, post=end_executemany,
             failing=end_executemany, priority=1000),
        hook((cursor_cls, "callproc"), pre=check_callproc),
    ]


def _ansi_quotes(connection):
    modes = "%s %s" % (getattr(connection, "sql_mode", None) or "",
                       getattr(connection, "init_command", None) or "")
    return "ANSI" in modes.upper()


def dialect_of(cursor):
    """The dialect of the cursor's connection, the default one when it is closed or unknown."""
    connection = getattr(cursor, "connection", None)
    if connection is None:
        return dialect()
    status = getattr(connection, "server_status", 0) or 0
    return dialect(_ansi_quotes(connection), not status & NO_BACKSLASH_ESCAPES)


def patcher(class_name, driver, dialect_of):
    """``(patch, unpatch)`` for a driver whose cursors derive from ``<package>.cursors.<class_name>``.

    ``patch(module)`` hooks that class once per package object;
    ``unpatch()`` removes the hooks.
    """
    state = {"handles": [], "patched": []}

    def patch(module):
        if any(done is module for done in state["patched"]):
            return
        cursors = importlib.import_module(module.__name__ + ".cursors")
        state["handles"].extend(hook_cursor(getattr(cursors, class_name), driver, dialect_of))
        state["patched"].append(module)

    def unpatch():
        while state["handles"]:
            state["handles"].pop().remove()
        del state["patched"][:]

    return patch, unpatch


patch, unpatch = patcher("Cursor", DRIVER, dialect_of)
