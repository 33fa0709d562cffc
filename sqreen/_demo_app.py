"""The deliberately vulnerable app of ``sqreen demo``: never deploy it.

A Flask app on a real sqlite3 database file with a login form, a search
page and a guestbook that build their SQL by pasting the user's text into
it (the mistake the agent is there to catch), and a profile page that does
it right with a bound parameter. Beside them, one page per other mistake
the agent catches: a host check that pastes the host into a shell command,
a report download that pastes the name after the reports directory, a page
preview that fetches whatever URL it is given, and a greeting that renders
the name unescaped. The login reports each attempt to the agent
(``sqreen.auth_track``, a no-op without it), for its account-takeover
protection. Everything they touch is local: the command only echoes, the
files are the demo's own (or the system's), and the preview fetches pages
of this same app on loopback, or ``file:`` URLs.
The login form is POSTed, the others are GET requests: the agent inspects
query strings and form bodies alike.
Run as ``python -m sqreen._demo_app DB PORT [--agent]``: it binds 127.0.0.1 (port 0 picks a free one), prints
``LISTENING <port>`` and serves until SIGTERM or Ctrl-C; with ``--agent``
the agent starts first (its configuration comes from the environment the
demo sets: block mode, an events file of its own). The reports are read
from ``reports/`` next to DB (see :func:`create_files`).
"""
from __future__ import print_function

import os
import signal
import sqlite3
import subprocess
import sys

REPORT = "Q3 report: revenue up 12%, 3 new stores.\n"
SECRETS = "[production]\nsecret_key = demo-SECRET-key-0xC0FFEE\ndb_password = s3cr3t-db-pw\n"
ABOUT = "About us: a small shop selling stickers since 2012."
INTERNAL = "Internal admin console: deploy token demo-INTERNAL-t0ken, 3 servers up."

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
<form method="get" action="/ping"><h2>Check a host</h2><input name="host"> <button>Check</button></form>
<form method="get" action="/report"><h2>Download a report</h2><input name="name" value="q3.txt">
 <button>Download</button></form>
<form method="get" action="/preview"><h2>Preview a page</h2><input name="url" value="/about">
 <button>Preview</button></form>
<form method="get" action="/hello"><h2>Greeting</h2><input name="name"> <button>Greet</button></form>
<p>Try: username <code>' OR '1'='1</code>, search
 <code>nobody' UNION SELECT name, password FROM users --</code>, host <code>127.0.0.1; id</code>,
 report <code>../secrets.ini</code>, preview <code>file:///etc/passwd</code>, greeting
 <code>&lt;script&gt;alert(1)&lt;/script&gt;</code></p>
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


def create_files(directory):
    """Create the reports the app serves (``reports/q3.txt``) and, beside them, the secrets it must not."""
    reports = os.path.join(directory, "reports")
    if not os.path.isdir(reports):
        os.mkdir(reports)
    for path, text in ((os.path.join(reports, "q3.txt"), REPORT), (os.path.join(directory, "secrets.ini"),
                                                                   SECRETS)):
        with open(path, "w") as f:
            f.write(text)


def make_app(db_path):
    """The Flask app, on the database file ``db_path``."""
    import flask

    import sqreen

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
        # Failed logins feed the agent's account-takeover protection.
        sqreen.auth_track(row is not None, username=row[0] if row else form.get("username", ""))
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

    @app.route("/ping")
    def ping():
        # A real app would run ping; this one echoes, so that nothing leaves the machine.
        command = "echo checking host " + flask.request.args.get("host", "")  # VULNERABLE: a shell line
        output = subprocess.check_output(command, shell=True)
        return flask.Response(output, mimetype="text/plain")

    @app.route("/report")
    def report():
        reports = os.path.join(os.path.dirname(os.path.abspath(db_path)), "reports") + os.sep
        try:
            with open(reports + flask.request.args.get("name", ""), "rb") as f:  # VULNERABLE: no check
                return flask.Response(f.read(), mimetype="text/plain")
        except (IOError, OSError):
            return "No such report", 404

    @app.route("/preview")
    def preview():
        from six.moves.urllib.parse import urljoin
        from six.moves.urllib.request import urlopen

        # Relative links are pages of this site, fetched through loopback; the site's own port,
        # not the Host header (which the client chooses).
        site = "http://localhost:%s/" % flask.request.environ["SERVER_PORT"]
        url = flask.request.args.get("url", "")
        try:
            page = urlopen(urljoin(site, url), timeout=10)  # VULNERABLE: any absolute URL goes
            try:
                text = page.read(300).decode("utf-8", "replace")
            finally:
                page.close()
        except (IOError, OSError, ValueError) as exc:
            return u"Cannot preview %s: %s" % (url, exc), 502
        return flask.Response(u"Preview of %s: %s" % (url, text), mimetype="text/plain")

    @app.route("/about")
    def about():
        return ABOUT

    @app.route("/internal/config")
    def internal():
        if flask.request.remote_addr not in ("127.0.0.1", "::1"):
            return "Internal page", 403
        return INTERNAL

    @app.route("/hello")
    def hello():
        return flask.render_template_string(u"<p>Hello {{ name|safe }}!</p>",  # VULNERABLE: |safe
                                            name=flask.request.args.get("name", "stranger"))

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
