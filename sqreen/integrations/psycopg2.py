"""psycopg2: the text of every cursor ``execute``, ``executemany`` and ``callproc`` is checked for SQLi.

Connections and cursors are C types, and C functions of psycopg2
(``register_type``, ``quote_ident``, ``extras.execute_values``...) refuse
anything but real instances of them, so no proxy will do. ``connect``
passes a ``connection_factory`` instead: a subclass of the application's
factory (or of ``connection``) that also derives from a hooked subclass of
``connection``, whose ``cursor()`` does the same with the cursor factory
(the one passed to ``cursor()``, else the connection's ``cursor_factory``,
else ``cursor``). The hooked classes sit just above the C types in the
method order, so overrides such as ``extras.DictConnection.cursor`` or
``LoggingCursor.execute`` run as written and reach the checked C method
once, and objects stay instances of every class the application expects.

The text checked is the one the server gets: the query given to
``execute`` (bound parameters are never part of it), composed SQL
(``psycopg2.sql``) rendered for the cursor, and ``SELECT * FROM name()``
for ``callproc``. ``mogrify`` sends nothing and is not checked.

Known gaps: connections made before the patch, ``connection(dsn)``
instantiated directly, and a ``connection_factory`` / ``cursor_factory``
that is a function rather than a class (logged once) are not checked.
"""
from __future__ import absolute_import

import six

from sqreen import _attack_report, _log
from sqreen.instrumentation import HookPoint
from sqreen.instrumentation import _wrappers
from sqreen.instrumentation._wrapsub import hooked_subclass

DIALECT = "postgresql"
DRIVER = "psycopg2"
#: Cursor method -> the keyword its query (or procedure name) may be passed as.
METHODS = (("execute", "query"), ("executemany", "query"), ("callproc", "procname"))

_state = {"undo": [], "patched": []}
_combined = {}  # (application class, hooked class) -> class deriving from both


def query_text(cursor, query):
    """The text the server receives for ``query``: composed SQL is rendered for ``cursor``."""
    if isinstance(query, (six.text_type, bytes)):
        return query
    as_string = getattr(query, "as_string", None)
    return as_string(cursor) if as_string is not None else None


def _pre(name, keyword):
    def check_query(instance, args, kwargs):
        query = args[0] if args else kwargs.get(keyword)
        if query is None:
            return
        text = query_text(instance, query)
        if name == "callproc" and text is not None:
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            text = u"SELECT * FROM %s()" % (text,)
        _attack_report.check_sql(text, DIALECT, DRIVER)

    check_query.__name__ = "check_" + name
    return check_query


def combined(cls, hooked):
    """A class deriving from ``cls`` and ``hooked`` (a hooked subclass of a C type), cached.

    ``cls`` itself when it cannot be combined: not a subclass of the C type
    (a function, another library's class), or already hooked.
    """
    base = hooked.__bases__[0]
    if cls is base or cls is None:
        return hooked
    if not isinstance(cls, type) or not issubclass(cls, base):
        _log.log_once("integration:psycopg2:factory:%r" % (cls,), "sqreen: psycopg2 factory %r is not a "
                      "subclass of %s; what it makes is not checked", cls, base.__name__)
        return cls
    if issubclass(cls, hooked):
        return cls
    made = _combined.get((cls, hooked))
    if made is None:
        with _wrappers.locked():
            made = _combined.get((cls, hooked))
            if made is None:
                namespace = {"__module__": cls.__module__, "__doc__": cls.__doc__, "__slots__": ()}
                made = _combined[(cls, hooked)] = type(cls)(cls.__name__, (cls, hooked), namespace)
    return made


class Factory(object):
    """Stands in for a hook point: the call goes on with its factory argument combined with ``hooked``.

    ``keyword`` / ``position`` locate the argument; ``default(instance)`` is
    what the callee uses when none is passed. Never raises of its own: on
    an error the call goes on unchanged (logged once).
    """

    active = True

    def __init__(self, keyword, position, hooked, default):
        self.keyword = keyword
        self.position = position
        self.hooked = hooked
        self.default = default

    def call(self, wrapped, instance, args, kwargs):
        try:
            args, kwargs = self.arguments(instance, args, kwargs)
        except Exception:
            _log.log_once("integration:psycopg2:" + self.keyword, "sqreen: cannot hook the psycopg2 %s; "
                          "this one is not checked", self.keyword, exc_info=True)
        return wrapped(*args, **kwargs)

    def arguments(self, instance, args, kwargs):
        if len(args) > self.position:
            factory = combined(args[self.position], self.hooked)
            return args[:self.position] + (factory,) + args[self.position + 1:], kwargs
        given = kwargs.get(self.keyword)
        kwargs = dict(kwargs)
        kwargs[self.keyword] = combined(given if given is not None else self.default(instance), self.hooked)
        return args, kwargs


def hooks(module):
    """The ``Factory`` that makes ``module.connect`` hand out checked connections."""
    ext = module.extensions
    cursor_hooks = {}
    for name, keyword in METHODS:
        point = HookPoint("psycopg2.cursor." + name)
        point.add(pre=_pre(name, keyword))
        cursor_hooks[name] = point
    hooked_cursor = hooked_subclass(ext.cursor, cursor_hooks)
    cursor_factory = Factory("cursor_factory", 1, hooked_cursor,
                             lambda connection: connection.cursor_factory or ext.cursor)
    hooked_connection = hooked_subclass(ext.connection, {"cursor": cursor_factory})
    return Factory("connection_factory", 1, hooked_connection, lambda _: ext.connection)


def patch(module):
    """Hook ``module.connect`` (once per module object)."""
    if any(done is module for done in _state["patched"]):
        return
    _state["undo"].append(_wrappers.install(module, "connect", hooks(module)))
    _state["patched"].append(module)


def unpatch():
    """Undo :func:`patch`; connections made while it was in place keep being checked."""
    while _state["undo"]:
        _state["undo"].pop()()
    del _state["patched"][:]
