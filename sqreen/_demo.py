"""``sqreen demo``: a vulnerable app attacked twice, without the agent and with it, on loopback.

The app (``sqreen._demo_app``) runs in a child process on 127.0.0.1, on a
fresh copy of its sqlite3 database and files each time: first without the
agent, where the attacks work (SQL injections that log in as admin, steal
the passwords and rewrite one; a shell command run; a secrets file read
through ``../``; an internal page and a local file fetched through the
page preview; a script tag reflected; a password brute-forced), then under
the agent in block mode, where the same attacks get a 403 (the reflected
script: the page served with it escaped) and leave one attack event each
in the events file (the brute force two: the flag its last wrong guess
raised, then the refused login), while the benign requests get the very
answers they got without the agent. Nothing leaves the machine: the shell command only echoes, and the
preview fetches loopback pages and ``file:`` URLs only.
``--serve`` keeps the protected app running for a person to try in a browser.

Exit status: 0 when the agent stopped every attack and left every benign
answer as it was, 1 when it did not, 2 on bad usage or a missing Flask.
"""
from __future__ import print_function

import argparse
import collections
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
from six.moves.urllib.parse import quote, urlencode

#: One scripted request. ``kind`` is benign or attack; ``protection`` the ``attack_type`` of the event an
#: attack must raise; ``path`` may hold ``{port}`` (the app's own port, percent-encoded in a query);
#: ``form`` is None or ordered (name, value) pairs; ``proof`` is what the answer shows when the attack works;
#: ``first``: forms POSTed to ``path`` before it (a brute force's wrong guesses), their answers summed up.
Step = collections.namedtuple("Step", "kind protection label method path form proof first")
PORT = quote("{port}")


def _query(route, name, value):
    return route + "?" + urlencode({name: value})


def _benign(label, path, form=None):
    return Step("benign", None, label, "POST" if form else "GET", path, form, None, ())


def _attack(protection, label, path, proof, form=None, first=()):
    return Step("attack", protection, label, "POST" if form else "GET", path, form, proof, first)


#: The brute force's wrong guesses: as many as the demo sets ``ato_max_failures_per_user`` to.
GUESSES = ("123456", "password", "admin", "letmein", "qwerty")


REQUESTS = [
    _benign("home page", "/"),
    _benign("search for 'ali'", _query("/search", "q", "ali")),
    _benign("log in as alice", "/login", [("username", "alice"), ("password", "wonderland")]),
    _benign("profile of O'Brien (bound query)", _query("/profile", "name", "O'Brien")),
    _benign("sign the guestbook", _query("/comments", "body", "Nice demo!")),
    _benign("check a host name", _query("/ping", "host", "db1.example.com")),
    _benign("download report q3.txt", _query("/report", "name", "q3.txt")),
    _benign("preview a page of the site", _query("/preview", "url", "/about")),
    _benign("greet O'Brien & Sons", _query("/hello", "name", "O'Brien & Sons")),
    _attack("sqli", "login bypass, tautology", "/login", "Welcome, admin!",
            [("username", "' OR '1'='1"), ("password", "' OR '1'='1")]),
    _attack("sqli", "login bypass, comment truncation", "/login", "Welcome, admin!",
            [("username", "admin' --"), ("password", "whatever")]),
    _attack("sqli", "UNION extraction of passwords",
            _query("/search", "q", "nobody' UNION SELECT name, password FROM users --"), "s3cr3t-admin-pw"),
    _attack("sqli", "stacked query rewriting a password", _query(
        "/comments", "body", "hi'); UPDATE users SET password = 'pwned' WHERE name = 'admin'; --"), None),
    _attack("shell_injection", "shell command after the host", _query("/ping", "host", "127.0.0.1; id"),
            "uid="),
    _attack("path_traversal", "report name climbing to secrets", _query("/report", "name", "../secrets.ini"),
            "secret_key"),
    _attack("ssrf", "preview of an internal-only page",
            _query("/preview", "url", "http://127.0.0.1:{port}/internal/config"), "deploy token"),
    _attack("ssrf", "preview of a local file (file: URL)", _query("/preview", "url", "file:///etc/passwd"),
            "root:"),
    _attack("xss", "greeting with a script tag", _query("/hello", "name", "<script>alert(1)</script>"),
            "<script>alert(1)</script>"),
    # Last: once flagged, this client's logins are refused for a while. On alice: admin's password
    # is 'pwned' by now without the agent.
    _attack("account_takeover", "brute force on alice's password", "/login", "Welcome, alice!",
            [("username", "alice"), ("password", "wonderland")],
            tuple([("username", "alice"), ("password", guess)] for guess in GUESSES)),
]
#: How long the brute force's address stays flagged (127.0.0.1: a browser's under ``--serve`` too).
ATO_BLOCK_SECONDS = 60
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
        _demo_app.create_files(directory)
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
        if agent:
            env.update(SQREEN_MODE="block", SQREEN_EVENTS_FILE=self.events_file, SQREEN_FORCE_START="1",
                       SQREEN_APP_NAME="sqreen-demo", SQREEN_FLUSH_TIMEOUT="5",
                       SQREEN_ATO_MAX_FAILURES_PER_USER=str(len(GUESSES)),
                       SQREEN_ATO_BLOCK_SECONDS=str(ATO_BLOCK_SECONDS))
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
    """One line of the answer: a whole HTML page as its text, anything else (fragments too) as sent."""
    if body.lstrip().startswith("<!DOCTYPE"):
        body = re.sub(r"<head>.*</head>|<[^>]+>", " ", body, flags=re.S)
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 3] + "..."


#: One answer: the step, its status and body, the verdict (see :func:`verdict`) and the event id it shows.
Outcome = collections.namedtuple("Outcome", "step status body verdict event_id")


def verdict(step, status, body, before):
    """``(verdict, event id)`` of an answer; ``before`` is the answer without the agent, None in that run.

    Verdicts: ``worked`` (an attack's proof shows, no agent), ``see below`` (an attack whose effect the
    demo shows after the run), ``no agent``, ``blocked`` (403 with an event
    id), ``escaped`` (an attack answered without its proof: the agent escaped the input in the page),
    ``allowed`` (the same answer as without the agent), ``changed`` (a benign answer the agent altered).
    """
    if before is None:
        if step.kind == "attack":
            return ("worked" if step.proof in body else "no agent") if step.proof else "see below", None
        return "no agent", None
    if status == 403:
        found = _EVENT_ID.search(body)
        return "blocked", found.group(0) if found else None
    if step.kind == "attack":
        return ("escaped" if status == 200 and step.proof and step.proof not in body else "allowed"), None
    return ("allowed" if (status, body) == before[:2] else "changed"), None


_SHOWN = {
    "worked": "no agent: the attack WORKED",
    "no agent": "no agent",
    "see below": "no agent: its effect shows below",
    "blocked": "BLOCKED by the agent, event %s",
    "escaped": "ESCAPED by the agent: the page is served with the input escaped",
    "allowed": "allowed",
    "changed": "allowed, but the answer differs from the one without the agent",
}


def run_requests(app, before=None):
    """Send every request, print two lines each; return an :class:`Outcome` per request.

    ``before``: the outcomes of the run without the agent, to compare with (None in that run).
    """
    results = []
    for number, step in enumerate(REQUESTS, 1):
        path = step.path.replace(PORT, str(app.port))
        first = [app.request("POST", path, form)[0] for form in step.first]
        status, body = app.request(step.method, path, step.form)
        found, event_id = verdict(step, status, body, before and (before[number - 1][1:3]))
        shown = path if len(path) < 60 else path[:57] + "..."
        print("  %2d. %-6s %-36s %-4s %s" % (number, step.kind, step.label, step.method, shown))
        if first:
            print("        (%d wrong guesses first, answered %s; then the right one)"
                  % (len(first), ", ".join(str(code) for code in first)))
        print("        -> %d %s | %s" % (status, excerpt(body), _SHOWN[found].replace("%s", str(event_id))))
        results.append(Outcome(step, status, body, found, event_id))
    return results


def read_events(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run(args, directory):
    print("sqreen demo: a deliberately vulnerable Flask + sqlite3 app on 127.0.0.1. It pastes user input")
    print("into SQL, a shell command, a file path and a URL it fetches, shows a name unescaped and lets")
    print("anyone guess passwords.")
    print("Each run starts from fresh files (%s); nothing leaves this machine.\n" % directory)
    print("== 1. WITHOUT the agent: the attacks work")
    app = App(os.path.join(directory, "unprotected"), agent=False)
    try:
        before = run_requests(app)
        print("   admin's password in the database afterwards: '%s'\n" % app.admin_password())
    finally:
        app.stop()
    print("== 2. WITH the agent (block mode): the same requests")
    app = App(os.path.join(directory, "protected"), agent=True, port=args.port)
    try:
        results = run_requests(app, before)
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
    print("Try the attacks above in its forms; press Ctrl-C to stop. (After the brute force, logins from")
    print("127.0.0.1 are refused for %d s.)" % ATO_BLOCK_SECONDS)
    sys.stdout.flush()
    app.wait()
    print()


def match_events(results, events):
    """``{result index: event}``: a blocked answer's event by its id, an escaped one's by type and path."""
    by_id = dict((e.get("event_id"), e) for e in events)
    matched, used = {}, set()
    for i, result in enumerate(results):
        event = by_id.get(result.event_id) if result.verdict == "blocked" else None
        if result.verdict == "escaped":
            path = result.step.path.split("?")[0]
            event = next((e for e in events if e.get("event_id") not in used
                          and e.get("attack_type") == result.step.protection
                          and (e.get("request") or {}).get("path") == path), None)
        if event is not None and event.get("attack_type") == result.step.protection:
            matched[i] = event
            used.add(event.get("event_id"))
    return matched


def warning_events(results, matched, events):
    """``{event id: result index}`` of the events a stopped attack's ``first`` requests raised on its path.

    The brute force's wrong guesses are answered as usual, and the last one flags the client: an
    ``account_takeover`` event, not blocked, before the one of the refused login.
    """
    found = {}
    taken = set(e.get("event_id") for e in matched.values())
    for i in matched:
        step = results[i].step
        for event in events:
            if step.first and event.get("event_id") not in taken and not event.get("blocked") \
                    and event.get("attack_type") == step.protection \
                    and (event.get("request") or {}).get("path") == step.path.split("?")[0]:
                found[event.get("event_id")] = i
                taken.add(event.get("event_id"))
    return found


def per_protection(results, matched):
    """``["sqli 4/4 blocked", "xss 1/1 escaped"]``: what each protection stopped, in the script's order."""
    counts = collections.OrderedDict()
    for i, result in enumerate(results):
        if result.step.kind == "attack":
            count = counts.setdefault(result.step.protection, [0, collections.OrderedDict()])
            count[0] += 1
            if i in matched:
                count[1][result.verdict] = count[1].get(result.verdict, 0) + 1
    parts = []
    for protection, (total, stopped) in counts.items():
        how = ", ".join("%d/%d %s" % (n, total, word) for word, n in stopped.items())
        parts.append("%s %s" % (protection, how or "0/%d stopped" % total))
    return parts


def _event_verdict(event):
    if not event.get("blocked"):
        return "not blocked"
    return "escaped" if event.get("attack_type") == "xss" else "blocked"  # XSS: the page went out escaped


def report(results, events_file, served_by_hand=False):
    """Print the verdict and the events summary; return the exit status.

    After ``--serve``, the events of the person's own attacks are listed too
    and do not count against the verdict.
    """
    attacks = [r for r in results if r.step.kind == "attack"]
    benign = [r for r in results if r.step.kind == "benign"]
    events = [e for e in read_events(events_file) if e.get("kind") == "attack"]
    matched = match_events(results, events)
    stopped = [results[i] for i in matched]
    same = [r for r in benign if r.verdict == "allowed"]
    print("== Result: %d/%d attacks stopped (%d blocked, %d escaped), %d/%d benign requests answered as "
          "without the agent, %d attack event(s)"
          % (len(stopped), len(attacks), len([r for r in stopped if r.verdict == "blocked"]),
             len([r for r in stopped if r.verdict == "escaped"]), len(same), len(benign), len(events)))
    lines = [[]]
    for entry in per_protection(results, matched):  # wrapped between entries
        if lines[-1] and len("; ".join(lines[-1] + [entry])) > 80:
            lines.append([])
        lines[-1].append(entry)
    print("   per protection: " + ";\n                   ".join("; ".join(line) for line in lines))
    verdicts = dict((e.get("event_id"), results[i].verdict) for i, e in matched.items())
    warnings = warning_events(results, matched, events)
    verdicts.update((event_id, "flagged the client") for event_id in warnings)
    for event in events:
        marker = "" if event.get("event_id") in verdicts else " (not one of the scripted requests)"
        how = verdicts.get(event.get("event_id")) or _event_verdict(event)
        source = event.get("input") or {}
        why = "input %s '%s'" % (source.get("source"), source.get("name"))
        if event.get("attack_type") == "account_takeover":
            why = "rule %s" % event.get("rule")
        print("   event %s: %-16s %s, %s%s"
              % (event.get("event_id"), event.get("attack_type"), how, why, marker))
    print("\nEvents file: %s" % events_file)
    print("Read it with: sqreen events %s" % events_file)
    ok = len(stopped) == len(attacks) and len(same) == len(benign) \
        and (served_by_hand or len(events) == len(attacks) + len(warnings))
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
    """Remove the databases, files and logs; the protected run's events file stays for ``sqreen events``."""
    for name in ("unprotected", "protected"):
        for entry in ("demo.db", "server.log", "secrets.ini"):
            path = os.path.join(directory, name, entry)
            if os.path.exists(path):
                os.remove(path)
        shutil.rmtree(os.path.join(directory, name, "reports"), ignore_errors=True)
    shutil.rmtree(os.path.join(directory, "unprotected"), ignore_errors=True)
