"""``sqreen demo``: a vulnerable app attacked twice, without the agent and with it, on loopback.

The app (``sqreen._demo_app``) runs in a child process on 127.0.0.1, on a
fresh copy of its sqlite3 database each time: first without the agent,
where the injections work (login bypass, data theft, a stacked query that
rewrites the admin's password), then under the agent in block mode, where
the same requests get a 403 and leave one attack event each in the events
file, while the benign requests are answered as before. ``--serve`` keeps
the protected app running for a person to try in a browser.

Exit status: 0 when the agent blocked every attack and let every benign
request through, 1 when it did not, 2 on bad usage or a missing Flask.
"""
from __future__ import print_function

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from six.moves import http_client
from six.moves.urllib.parse import urlencode

#: (kind, label, method, path, form fields as ordered (name, value) pairs, or None)
REQUESTS = [
    ("benign", "home page", "GET", "/", None),
    ("benign", "search for 'ali'", "GET", "/search?" + urlencode({"q": "ali"}), None),
    ("benign", "log in as alice", "POST", "/login", [("username", "alice"), ("password", "wonderland")]),
    ("benign", "profile of O'Brien (bound query)", "GET", "/profile?" + urlencode({"name": "O'Brien"}), None),
    ("benign", "sign the guestbook", "GET", "/comments?" + urlencode({"body": "Nice demo!"}), None),
    ("attack", "login bypass, tautology", "POST", "/login",
     [("username", "' OR '1'='1"), ("password", "' OR '1'='1")]),
    ("attack", "login bypass, comment truncation", "POST", "/login",
     [("username", "admin' --"), ("password", "whatever")]),
    ("attack", "UNION extraction of passwords", "GET",
     "/search?" + urlencode({"q": "nobody' UNION SELECT name, password FROM users --"}), None),
    ("attack", "stacked query rewriting a password", "GET",
     "/comments?" + urlencode({"body": "hi'); UPDATE users SET password = 'pwned' WHERE name = 'admin'; --"}),
     None),
]
EXCERPT = 100
_EVENT_ID = re.compile(r"[0-9a-f]{32}")


def build_parser():
    parser = argparse.ArgumentParser(prog="sqreen demo", description=(
        "Attack a deliberately vulnerable Flask + sqlite3 app on 127.0.0.1, without then with the agent."))
    parser.add_argument("--serve", action="store_true",
                        help="keep the protected app running afterwards (Ctrl-C stops it)")
    parser.add_argument("--port", type=int, default=0, help="port of the protected app (default: a free one)")
    return parser


class App(object):
    """The demo app in a child process, on its own fresh database in ``directory``."""

    def __init__(self, directory, agent, port=0):
        self.directory = directory
        self.db = os.path.join(directory, "demo.db")
        self.events_file = os.path.join(directory, "events.jsonl")
        from sqreen import _demo_app

        _demo_app.create_db(self.db)
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
        if agent:
            env.update(SQREEN_MODE="block", SQREEN_EVENTS_FILE=self.events_file, SQREEN_FORCE_START="1",
                       SQREEN_APP_NAME="sqreen-demo", SQREEN_FLUSH_TIMEOUT="5")
        else:
            env["SQREEN_DISABLE"] = "1"
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [env.get("PYTHONPATH")] if p])
        cmd = [sys.executable, "-m", "sqreen._demo_app", self.db, str(port)] + (["--agent"] if agent else [])
        self.log = open(os.path.join(directory, "server.log"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, env=env)
        line = self.proc.stdout.readline().decode("ascii", "replace")
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError("the demo app did not start:\n" + self.output())
        self.port = int(line.split()[1])

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def request(self, method, path, form=None):
        """``(status, body text)`` of one request."""
        conn = http_client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Accept": "text/html", "User-Agent": "sqreen-demo"}
            body = None
            if form is not None:
                body = urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def admin_password(self):
        conn = sqlite3.connect(self.db)
        try:
            return conn.execute("SELECT password FROM users WHERE name = 'admin'").fetchone()[0]
        finally:
            conn.close()

    def wait(self):
        try:
            while self.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass

    def stop(self):
        """Stop the child (SIGTERM: it exits cleanly, so the agent flushes its events)."""
        stop_process(self.proc)
        self.proc.stdout.close()


def stop_process(proc, grace=10.0):
    """SIGTERM ``proc``, SIGKILL it if it is still running ``grace`` seconds later, and reap it."""
    if proc.poll() is None:
        proc.terminate()
        deadline = time.time() + grace
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
    proc.wait()


def excerpt(body):
    text = re.sub(r"<head>.*</head>|<[^>]+>", " ", body, flags=re.S)
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 3] + "..."


def run_requests(app, agent):
    """Send every request, print one line each; return ``[(kind, status, event id)]``."""
    results = []
    for number, (kind, label, method, path, form) in enumerate(REQUESTS, 1):
        status, body = app.request(method, path, form)
        event_id = None
        if status == 403:
            found = _EVENT_ID.search(body)
            event_id = found.group(0) if found else None
            verdict = "BLOCKED by the agent, event %s" % event_id
        elif agent:
            verdict = "allowed"
        else:
            verdict = "no agent"
        shown = path if len(path) < 60 else path[:57] + "..."
        print("  %d. %-6s %-36s %-4s %s" % (number, kind, label, method, shown))
        print("       -> %d %s | %s" % (status, excerpt(body), verdict))
        results.append((kind, status, event_id))
    return results


def read_events(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run(args, directory):
    print("sqreen demo: a deliberately vulnerable Flask + sqlite3 app on 127.0.0.1; it builds SQL by")
    print("pasting user input into it. Each run starts from a fresh database (%s).\n" % directory)
    print("== 1. WITHOUT the agent: the injections work")
    app = App(os.path.join(directory, "unprotected"), agent=False)
    try:
        run_requests(app, agent=False)
        print("   admin's password in the database afterwards: '%s'\n" % app.admin_password())
    finally:
        app.stop()
    print("== 2. WITH the agent (block mode): the same requests")
    app = App(os.path.join(directory, "protected"), agent=True, port=args.port)
    try:
        results = run_requests(app, agent=True)
        print("   admin's password in the database afterwards: '%s'\n" % app.admin_password())
        if args.serve:
            serve(app)
    finally:
        app.stop()
    status = report(results, app.events_file, args.serve)
    if status:
        sys.stderr.write(app.output())
    app.log.close()
    return status


def serve(app):
    url = "http://127.0.0.1:%d/" % app.port
    print("The protected app keeps running at %s (events: %s)." % (url, app.events_file))
    print("Try the attacks above in the login and search forms; press Ctrl-C to stop.")
    sys.stdout.flush()
    app.wait()
    print()


def report(results, events_file, served_by_hand=False):
    """Print the verdict and the events summary; return the exit status.

    After ``--serve``, the events of the person's own attacks are listed too
    and do not count against the verdict.
    """
    attacks = [r for r in results if r[0] == "attack"]
    benign = [r for r in results if r[0] == "benign"]
    blocked = [r for r in attacks if r[1] == 403 and r[2]]
    served = [r for r in benign if r[1] == 200]
    events = [e for e in read_events(events_file) if e.get("kind") == "attack"]
    print("== Result: %d/%d attacks blocked, %d/%d benign requests answered 200, %d attack event(s)"
          % (len(blocked), len(attacks), len(served), len(benign), len(events)))
    ids = set(r[2] for r in blocked)
    for event in events:
        marker = "" if event.get("event_id") in ids else " (not one of the scripted requests)"
        source = event.get("input") or {}
        print("   event %s: %s, input %s %r%s" % (event.get("event_id"), event.get("attack_type"),
                                                  source.get("source"), source.get("name"), marker))
    print("\nEvents file: %s" % events_file)
    print("Read it with: sqreen events %s" % events_file)
    matched = [e for e in events if e.get("event_id") in ids]
    ok = len(blocked) == len(attacks) and len(served) == len(benign) and len(matched) == len(attacks) \
        and (served_by_hand or len(events) == len(attacks))
    if not ok:
        print("The agent did not behave as expected; the protected app's log follows.", file=sys.stderr)
        sys.stdout.flush()
    return 0 if ok else 1


def main(argv=None):
    """``sqreen demo [--serve] [--port N]``; returns the exit status."""
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        import flask  # noqa: F401
    except ImportError:
        print("sqreen demo needs Flask: pip install 'sqreen[demo]'", file=sys.stderr)
        return 2
    directory = tempfile.mkdtemp(prefix="sqreen-demo-")
    os.mkdir(os.path.join(directory, "unprotected"))
    os.mkdir(os.path.join(directory, "protected"))
    try:
        return run(args, directory)
    except RuntimeError as exc:
        print("sqreen demo: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if not args.serve:
            _keep_events_only(directory)


def _keep_events_only(directory):
    """Remove the databases and logs; the protected run's events file stays for ``sqreen events``."""
    for name in ("unprotected", "protected"):
        for entry in ("demo.db", "server.log"):
            path = os.path.join(directory, name, entry)
            if os.path.exists(path):
                os.remove(path)
    shutil.rmtree(os.path.join(directory, "unprotected"), ignore_errors=True)
