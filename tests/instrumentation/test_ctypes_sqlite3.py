"""Methods of C types are hooked through a factory subclass: tested on the real sqlite3 module."""
import sqlite3

import pytest

from sqreen.instrumentation import _wrappers
from sqreen.instrumentation._wrapsub import FactoryArgument, hooked_subclass
from tests.instrumentation.test_wrappers_support import Recorder


@pytest.fixture
def hooks():
    """Hook Connection.execute, Cursor.execute and the cursor factory; undo afterwards."""
    hps = {"conn": Recorder(), "cursor": Recorder()}
    cursor_hooks = {"execute": hps["cursor"]}
    connection_hooks = {
        "execute": hps["conn"],
        "cursor": FactoryArgument("factory", 0, sqlite3.Cursor, cursor_hooks),
    }
    original = sqlite3.connect
    undo = _wrappers.install(sqlite3, "connect", FactoryArgument("factory", 5, sqlite3.Connection,
                                                                 connection_hooks))
    yield hps
    undo()
    assert sqlite3.connect is original


def test_connection_and_cursor_methods_go_through_hookpoints(hooks):
    conn = sqlite3.connect(":memory:")
    assert isinstance(conn, sqlite3.Connection)
    assert type(conn) is not sqlite3.Connection
    conn.execute("CREATE TABLE t (x)")
    cursor = conn.cursor()
    assert isinstance(cursor, sqlite3.Cursor)
    cursor.execute("INSERT INTO t VALUES (?)", (1,))
    assert cursor.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert hooks["conn"].instances == [conn]
    assert hooks["conn"].arguments == [(("CREATE TABLE t (x)",), {})]
    assert hooks["cursor"].instances[-2:] == [cursor, cursor]
    assert hooks["cursor"].arguments[-2:] == [
        (("INSERT INTO t VALUES (?)", (1,)), {}),
        (("SELECT x FROM t",), {}),
    ]
    conn.close()


def test_users_factory_is_kept(hooks):
    class MyConnection(sqlite3.Connection):
        def execute(self, sql, *args):
            self.seen = sql
            return super(MyConnection, self).execute(sql, *args)

        __slots__ = ("seen",)

    class MyCursor(sqlite3.Cursor):
        pass

    conn = sqlite3.connect(":memory:", factory=MyConnection)
    assert isinstance(conn, MyConnection)
    conn.execute("SELECT 1")
    assert conn.seen == "SELECT 1"
    assert hooks["conn"].instances == [conn]
    cursor = conn.cursor(MyCursor)
    assert isinstance(cursor, MyCursor)
    cursor.execute("SELECT 2")
    assert hooks["cursor"].instances[-1] is cursor
    # the same factory twice gives the same hooked class
    assert type(sqlite3.connect(":memory:", factory=MyConnection)) is type(conn)
    conn.close()


@pytest.mark.filterwarnings("ignore:Passing more than 1 positional argument:DeprecationWarning")
def test_factory_passed_positionally(hooks):
    conn = sqlite3.connect(":memory:", 5.0, 0, None, True, sqlite3.Connection)
    conn.execute("SELECT 1")
    assert hooks["conn"].instances == [conn]
    conn.close()


def test_errors_propagate(hooks):
    conn = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("SELECT * FROM missing")
    assert len(hooks["conn"].calls) == 1
    conn.close()


def test_inactive_hookpoints_call_straight_through():
    hp = Recorder(active=False)
    cls = hooked_subclass(sqlite3.Connection, {"execute": hp})
    conn = sqlite3.connect(":memory:", factory=cls)
    assert conn.execute("SELECT 3").fetchone() == (3,)
    assert hp.calls == []
    hp.active = True
    conn.execute("SELECT 4")
    assert len(hp.calls) == 1
    conn.close()


def test_hooked_subclass_looks_like_the_base():
    hooks = {"execute": Recorder()}
    cls = hooked_subclass(sqlite3.Cursor, hooks)
    assert cls is hooked_subclass(sqlite3.Cursor, hooks)
    assert cls.__name__ == "Cursor"
    assert cls.__module__ == sqlite3.Cursor.__module__
    assert cls.execute.__name__ == "execute"
    assert cls.execute.__wrapped__ is sqlite3.Cursor.__dict__["execute"]
    assert issubclass(cls, sqlite3.Cursor)
    assert not hasattr(sqlite3.connect(":memory:").cursor(cls), "__dict__")


def test_connections_made_after_undo_are_plain():
    hp = Recorder()
    undo = _wrappers.install(sqlite3, "connect", FactoryArgument("factory", 5, sqlite3.Connection,
                                                                 {"execute": hp}))
    hooked = sqlite3.connect(":memory:")
    undo()
    plain = sqlite3.connect(":memory:")
    assert type(plain) is sqlite3.Connection
    hooked.execute("SELECT 1")  # objects made while hooked keep their class
    assert len(hp.calls) == 1
    hooked.close()
    plain.close()
