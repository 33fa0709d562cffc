"""The Flask app of the request benchmark: ``/hello``, ``/query`` (one SELECT, one template), ``/agent``.

It never mentions the agent except in ``/agent``, which tells the driver
whether the agent runs and serves this request (the Flask integration's work).
"""
import os
import sqlite3

import flask

import _db

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
app = flask.Flask(__name__, template_folder=TEMPLATES)


@app.route("/hello")
def hello():
    return "Hello, world!"


@app.route("/query")
def query():
    conn = sqlite3.connect(_db.path())  # one connection per request, as Flask's tutorial does
    try:
        rows = conn.execute(_db.QUERY, (_db.PRICE_LIMIT,)).fetchall()
    finally:
        conn.close()
    return flask.render_template("items.html", title=_db.TITLE, items=_db.as_dicts(rows))


@app.route("/agent")
def agent():
    from _agent_probe import probe

    return flask.jsonify(probe(collect="gc" in flask.request.args))
