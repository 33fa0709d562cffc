"""MySQLdb (mysqlclient): the text of every cursor ``execute``, ``executemany`` and ``callproc`` is checked.

Cursors are Python classes deriving from ``MySQLdb.cursors.BaseCursor``,
hooked in place the way PyMySQL's are (see ``sqreen.integrations.pymysql``):
the query given to the method is checked (parameters are escaped into the
text by the driver and never trigger), ``CALL name()`` for ``callproc``,
one check for an ``executemany``; ``execute`` keeps returning the row count.

Dialect: MySQL. ``NO_BACKSLASH_ESCAPES`` is read on every check from the
client library, which escapes by the server's current status: escaping a
quote with a backslash means backslashes escape (a local call, no round
trip). ``ANSI_QUOTES`` is not known (the connection keeps no ``sql_mode``);
double-quoted text is then read as a string instead of a name, both being
one quoted token for the check.
"""
from __future__ import absolute_import

from sqreen.integrations.pymysql import dialect, patcher

DRIVER = "MySQLdb"


def dialect_of(cursor):
    """The dialect of the cursor's connection, the default one when it is closed or unknown."""
    try:
        connection = cursor._get_db()
        escaped = connection.escape_string(b"'")
    except Exception:
        return dialect()
    return dialect(backslash_escapes=escaped != b"''")


patch, unpatch = patcher("BaseCursor", DRIVER, dialect_of)
