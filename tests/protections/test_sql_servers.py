"""The lexer's view checked against real servers: an injected query parses as the structure we see."""
from __future__ import unicode_literals

import sqlite3

import pytest

from sqreen.protections import _sql_injection as sqli
from tests.helpers import require_service

# (input, whether the server runs the query the vulnerable app builds, whether check() flags it):
# injected structure parses and runs; a lone quote that leaves the literal open only fails.
CASES = [("x' OR '1'='1", True, True), ("x' OR 1=1 -- ", True, True),
         ("x' AND 1=0 UNION SELECT 'a' -- ", True, True), ("x'", False, False), ("O''Brien", True, False)]


def build(value):
    return "SELECT 'a' AS a WHERE 'x' = '%s'" % value


def run_all(execute, name):
    for value, runs, attack in CASES:
        query = build(value)
        ok = execute(query)
        assert ok == runs, (name, query)
        flagged = sqli.check(query, name, [("query", "q", value)]) is not None
        assert flagged == attack, (name, query)


def test_sqlite():
    conn = sqlite3.connect(":memory:")

    def execute(query):
        try:
            conn.execute(query).fetchall()
            return True
        except sqlite3.Error:
            return False

    run_all(execute, "sqlite")


def _connect_pg():
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        return psycopg2, psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test",
                                          connect_timeout=3)
    except psycopg2.OperationalError:
        require_service("PostgreSQL on 127.0.0.1:5432 is down")


def test_postgresql():
    psycopg2, conn = _connect_pg()
    conn.autocommit = True

    def execute(query):
        try:
            with conn.cursor() as cur:
                cur.execute(query.replace("%", "%%"))
                cur.fetchall()
            return True
        except psycopg2.Error:
            return False

    run_all(execute, "postgresql")


def test_mariadb():
    pymysql = pytest.importorskip("pymysql")
    try:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database="test",
                               connect_timeout=3)
    except pymysql.err.OperationalError:
        require_service("MariaDB on 127.0.0.1:3306 is down")

    def execute(query):
        try:
            with conn.cursor() as cur:
                cur.execute(query)
                cur.fetchall()
            return True
        except pymysql.err.MySQLError:
            return False

    run_all(execute, "mysql")
