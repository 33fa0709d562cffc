"""The benchmark's sqlite3 database: one table of items, the one query both apps run."""
import os
import sqlite3

#: The one SELECT of the ``query`` endpoint (sqlite3 ``?`` parameters; Django's cursor wants ``%s``).
QUERY = "SELECT id, name, price FROM items WHERE price < ? ORDER BY id LIMIT 10"
PRICE_LIMIT = 50
TITLE = "Cheap items"


def path():
    """The database file the apps read, from ``BENCH_DB``."""
    return os.environ["BENCH_DB"]


def create(filename, rows=200):
    """Write a fresh database of ``rows`` items to ``filename``."""
    if os.path.exists(filename):
        os.remove(filename)
    conn = sqlite3.connect(filename)
    try:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                     "price INTEGER NOT NULL)")
        conn.executemany("INSERT INTO items (id, name, price) VALUES (?, ?, ?)",
                         [(n, "item %d" % n, (n * 37) % 100) for n in range(1, rows + 1)])
        conn.commit()
    finally:
        conn.close()


def as_dicts(rows):
    return [{"id": row[0], "name": row[1], "price": row[2]} for row in rows]
