"""A WSGI app writing the request's ``q`` into SQLAlchemy ``text()``: ``/sa/<core|orm>/<concat|param>``.

Each request adds 1 to the score of the rows whose name is ``q``, through a
Core connection or an ORM Session, and answers how many rows it changed;
``/sa/scores`` answers every row's score.
"""
import json
import os

from six.moves.urllib.parse import parse_qs
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, text
from sqlalchemy.orm import Session

TABLE = os.environ.get("ORM_TABLE", "sqreen_orm_item") + "_sa"
URLS = {
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
}
_metadata = MetaData()
items = Table(TABLE, _metadata, Column("id", Integer, primary_key=True), Column("name", String(50)),
              Column("score", Integer))
engine = create_engine(URLS.get(os.environ.get("ORM_DB"))
                       or "sqlite:///%s-sa.db" % os.environ.get("ORM_SQLITE", "orm"))


def _update(api, q, concat):
    sql = "UPDATE %s SET score = score + 1 WHERE name = " % TABLE
    statement, params = (text(sql + "'%s'" % q), {}) if concat else (text(sql + ":name"), {"name": q})
    if api == "core":
        with engine.begin() as conn:
            return conn.execute(statement, params).rowcount
    with Session(engine) as session:
        changed = session.execute(statement, params).rowcount
        session.commit()
        return changed


def _scores():
    with engine.connect() as conn:
        return dict((row[0], row[1]) for row in conn.execute(text("SELECT name, score FROM %s" % TABLE)))


def app(environ, start_response):
    parts = environ["PATH_INFO"].strip("/").split("/")
    if parts[1:] == ["scores"]:
        result = _scores()
    else:
        q = parse_qs(environ.get("QUERY_STRING", "")).get("q", [""])[0]
        result = {"result": _update(parts[1], q, parts[2] == "concat")}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(result, sort_keys=True).encode("utf-8")]


def create_table():
    """The table, holding alice 10, bob 20 and O'Brien 30."""
    _metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(items.insert(), [{"id": n, "name": name, "score": score} for n, (name, score)
                                      in enumerate((("alice", 10), ("bob", 20), ("O'Brien", 30)), 1)])


def drop_table():
    _metadata.drop_all(engine)
    engine.dispose()
