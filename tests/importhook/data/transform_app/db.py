"""Database access, the careless way."""
from __future__ import absolute_import

import sqlite3

TABLE = "users"
QUERY_ALL = "SELECT * FROM " + "users"  # two literals: a constant, not a site


def connect():
    return sqlite3.connect(":memory:")


def find(cursor, uid):
    cursor.execute("SELECT * FROM users WHERE id = " + uid)  # site: sql
    return cursor.fetchall()


def find_by_name(cursor, name):
    query = "select id from users where name = '%s'" % name  # site: sql
    cursor.execute(query)
    return cursor.fetchall()


def delete(cursor, uid):
    sql = "DELETE FROM {} WHERE id = {}".format(TABLE, uid)  # site: sql
    return sql


def count(cursor, table):
    statement = "SELECT COUNT(*) FROM " + table  # site: sql
    cursor.executemany(statement, [])


def by_column(cursor, column):
    cursor.execute("SELECT id FROM users ORDER BY %s" % column)  # site: sql


def safe(cursor, uid):
    cursor.execute("SELECT * FROM users WHERE id = ?", (uid,))
    return cursor.fetchall()


def not_sql(user):
    return "Hello " + user + ", your selection is ready"
