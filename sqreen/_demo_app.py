"""The deliberately vulnerable app of ``sqreen demo``: never deploy it.

A Flask app on a real sqlite3 database file with a login form, a search
page and a guestbook that build their SQL by pasting the user's text into
it (the mistake the agent is there to catch), and a profile page that does
it right with a bound parameter. The login form is POSTed, the others are
GET requests: the agent inspects query strings and form bodies alike.
Run as ``python -m sqreen._demo_app DB PORT [--agent]``: it binds 127.0.0.1 (port 0 picks a free one), prints
``LISTENING <port>`` and serves until SIGTERM or Ctrl-C; with ``--agent``
the agent starts first (its configuration comes from the environment the
demo sets: block mode, an events file of its own).
"""
from __future__ import print_function

import signal
import sqlite3
import sys

USERS = [("admin", "s3cr3t-admin-pw", "admin@example.com"), ("alice", "wonderland", "alice@example.com"),
         ("O'Brien", "dublin", "obrien@example.com")]

PAGE = u"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>sqreen demo shop</title></head><body>
<h1>sqreen demo: a deliberately vulnerable app</h1>
<form method="post" action="/login"><h2>Log in</h2>
 <input name="username" placeholder="username"> <input name="password" type="password" placeholder="password">
 <button>Log in</button></form>
<form method="get" action="/search"><h2>Search users</h2><input name="q"> <button>Search</button></form>
<form method="get" action="/comments"><h2>Guestbook</h2><input name="body" size="60">
 <button>Sign</button></form>
<p>Profile (bound query, safe): <a href="/profile?name=O%27Brien">/profile?name=O'Brien</a></p>
<p>Try: username <code>' OR '1'='1</code>, or search
 <code>nobody' UNION SELECT name, password FROM users --</code></p>
</body></html>
"""


def create_db(path):
    """Create and fill the demo database at ``path``."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript("CREATE TABLE users (name TEXT, password TEXT, email TEXT);"
                           "CREATE TABLE comments (body TEXT);")
        conn.executemany("INSERT INTO users VALUES (?, ?, ?)", USERS)
        conn.commit()
    finally:
        conn.close()


def make_app(db_path):
    """The Flask app, on the database file ``db_path``."""
    import flask

    app = flask.Flask("sqreen_demo")

    def db():
        return sqlite3.connect(db_path)

    @app.route("/")
    def index():
        return PAGE

    @app.route("/login", methods=["POST"])
    def login():
        form = flask.request.form
        query = "SELECT name FROM users WHERE name = '%s' AND password = '%s'" % (
            form.get("username", ""), form.get("password", ""))  # VULNERABLE: concatenation
        row = db().execute(query).fetchone()
        if row is None:
            return "Invalid credentials", 401
        return u"Welcome, %s! You are logged in." % row[0]

    @app.route("/search")
    def search():
        query = "SELECT name, email FROM users WHERE name LIKE '%%%s%%'" % flask.request.args.get("q", "")
        rows = db().execute(query).fetchall()  # VULNERABLE: concatenation
        return u"%d result(s): %s" % (len(rows), u"; ".join(u"%s (%s)" % row for row in rows))

    @app.route("/comments")
    def comment():
        conn = db()
        conn.executescript("INSERT INTO comments (body) VALUES ('%s');"  # VULNERABLE: concatenation
                           % flask.request.args.get("body", ""))
        count = conn.execute("SELECT count(*) FROM comments").fetchone()[0]
        return u"Thanks for signing! %d comment(s) so far." % count

    @app.route("/profile")
    def profile():
        row = db().execute("SELECT name, email FROM users WHERE name = ?",  # safe: a bound parameter
                           (flask.request.args.get("name", ""),)).fetchone()
        if row is None:
            return "No such user", 404
        return u"Profile of %s (%s)" % row

    return app


def serve(application, port):
    """Serve on 127.0.0.1:``port`` (0: a free port), printing ``LISTENING <port>`` once bound.

    A quiet, threaded wsgiref server: the demo's, and the tests' wsgiref server too.
    """
    from wsgiref import simple_server
    from six.moves.socketserver import ThreadingMixIn

    class QuietHandler(simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class Server(ThreadingMixIn, simple_server.WSGIServer):
        daemon_threads = True

    httpd = simple_server.make_server("127.0.0.1", port, application, Server, QuietHandler)
    print("LISTENING %d" % httpd.server_address[1])
    sys.stdout.flush()
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


def _stop(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the exit handlers short
    raise SystemExit(0)  # so that exit handlers (the agent's last flush) run


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    db_path, port = argv[0], int(argv[1])
    if "--agent" in argv:
        import sqreen

        sqreen.start()
    signal.signal(signal.SIGTERM, _stop)
    try:
        serve(make_app(db_path), port)
    except KeyboardInterrupt:  # Ctrl-C under ``sqreen demo --serve`` reaches us too
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return 0


if __name__ == "__main__":
    sys.exit(main())
