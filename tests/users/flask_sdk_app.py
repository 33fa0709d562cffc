"""A Flask app that reports its users through the SDK, started under the agent; ``python -m ... PORT``.

``/login`` checks a password itself and calls ``sqreen.auth_track``;
``/signup`` calls ``signup_track``; ``/order`` identifies the user, tracks
a custom event, then runs an SQL query built from the input (an injection
there is blocked, and its event names the user); ``/bad-track`` makes an
invalid ``track`` call and goes on. ``eve`` is blocked by ``block_user``.
"""
import sqlite3
import sys

import sqreen

sqreen.start()

import flask  # noqa: E402

from sqreen import _reporter  # noqa: E402

PASSWORDS = {"alice": "alice-password", "mallory": "mallory-password", "eve": "eve-password"}
STARTUP = {"block_user": sqreen.block_user({"username": "eve"})}

app = flask.Flask(__name__)


@app.route("/ready")
def ready():
    return flask.jsonify(ok=True)


@app.route("/login", methods=["POST"])
def login():
    name = flask.request.form.get("handle")
    success = PASSWORDS.get(name) == flask.request.form.get("password")
    sqreen.auth_track(success, username=name, password=flask.request.form.get("password"))
    return flask.jsonify(ok=success), 200 if success else 401


@app.route("/signup", methods=["POST"])
def signup():
    return flask.jsonify(recorded=sqreen.signup_track(email=flask.request.form.get("email")))


@app.route("/order")
def order():
    sqreen.identify({"username": flask.request.args["user"]}, traits={"plan": "pro"})
    sku = flask.request.args.get("sku", "")
    sqreen.track("order", properties={"sku": sku})
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE item (sku TEXT)")
    rows = conn.execute("SELECT sku FROM item WHERE sku = '%s'" % sku).fetchall()
    return flask.jsonify(rows=rows)


@app.route("/bad-track")
def bad_track():
    return flask.jsonify(recorded=sqreen.track("", properties=dict(("p%d" % i, i) for i in range(20))))


@app.route("/state")
def state():
    _reporter.flush(5)
    return flask.jsonify(startup=STARTUP)


application = app

if __name__ == "__main__":
    from sqreen._demo_app import serve

    serve(application, int(sys.argv[1]))
