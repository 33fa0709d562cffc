"""Each uWSGI worker reports its own events: a real uWSGI, two workers, one events file.

uWSGI (``tests/servers/_uwsgi_app.py``) runs on 127.0.0.1 with ``--master``
and two worker processes, the agent in block mode with a blocklisted
network. Every request claims a blocklisted address in ``X-Forwarded-For``
(the peer, loopback, is a trusted proxy by default) and its own
``X-Request-Id``, so it gets a 403 naming the worker (``X-Worker-Pid``) and
exactly one ``blocked_ip`` event stamped with that worker's pid. The three
ways of starting the agent under a preforking uWSGI are covered: lazy apps
under ``sqreen-start``; apps loaded in the master with ``sqreen.start()``
in a ``postfork`` function; and the agent started in the master before the
fork, relying on its after-fork handling.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from six.moves import http_client

from tests.helpers import ROOT
from tests.runtime.test_uwsgi import UWSGI, free_port, need_uwsgi

BLOCKED_NET = "203.0.113.0/24"
BATCH = 8  # concurrent requests per round
MAX_ROUNDS = 25  # at most 200 requests to see both workers
MIN_REQUESTS = 24

COMMON = ["--master", "--processes", "2", "--die-on-term", "--need-app", "--disable-logging",
          "--module", "tests.servers._uwsgi_app:application"]
VARIANTS = {
    # lazy apps: the app (and the agent's integrations) load in each worker; sqreen-start bootstraps
    "lazy-apps": (["--lazy-apps", "--enable-threads", "--single-interpreter"], "bootstrap"),
    # apps loaded once in the master; each worker starts the agent from a postfork function
    "postfork": (["--py-call-osafterfork", "--enable-threads"], "postfork"),
    # the agent started in the master at import time, before the workers are forked
    "prefork": (["--py-call-osafterfork", "--enable-threads"], "import"),
}


def flask_available():
    try:
        import flask  # noqa: F401
    except ImportError:
        return False
    return True


APPS = ["plain", pytest.param("flask", marks=pytest.mark.skipif(
    not flask_available(), reason="Flask is not installed for this interpreter"))]


class UWSGIServer(object):
    """uWSGI in its own process group; ``stop()`` interrupts the master, then kills what is left."""

    def __init__(self, tmpdir, variant, app):
        options, start = VARIANTS[variant]
        self.events_file = str(tmpdir.join("events.jsonl"))
        self.log_file = str(tmpdir.join("uwsgi.log"))
        self.port = free_port()
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "PYTHON")))
        env.update(PYTHONPATH=ROOT, SQREEN_EVENTS_FILE=self.events_file, SQREEN_MODE="block",
                   SQREEN_IP_BLOCKLIST=BLOCKED_NET, SERVERS_APP=app, SERVERS_START=start)
        cmd = [UWSGI, "--http-socket", "127.0.0.1:%d" % self.port, "--chdir", ROOT,
               "--virtualenv", sys.prefix, "--logto", self.log_file] + COMMON + options
        if start == "bootstrap":
            cmd = [sys.executable, "-c",
                   "import sys; from sqreen._cli import start_main; sys.exit(start_main())"] + cmd
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=os.setsid)

    def log(self):
        try:
            with open(self.log_file, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except IOError:
            return ""

    def request(self, path, headers=None, timeout=10):
        """``(status, worker pid, body)``."""
        conn = http_client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.getheader("X-Worker-Pid"), response.read()
        finally:
            conn.close()

    def wait_ready(self):
        for _ in range(300):  # a bound on start-up (30 s), not a measurement
            if self.proc.poll() is not None:
                break
            try:
                status, pid, body = self.request("/pid", timeout=2)
                if status == 200:
                    return
            except (IOError, http_client.HTTPException):
                pass
            time.sleep(0.1)
        raise AssertionError("uWSGI did not start:\n" + self.log())

    def stop(self):
        if self.proc.poll() is None:
            for sig in (signal.SIGINT, signal.SIGQUIT):
                try:
                    os.kill(self.proc.pid, sig)
                except OSError:
                    break
                for _ in range(50):  # 5 s for each signal
                    if self.proc.poll() is not None:
                        break
                    time.sleep(0.1)
                if self.proc.poll() is not None:
                    break
        try:  # workers the master left behind, and the master if it still runs
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()


@pytest.fixture
def serve(tmpdir):
    servers = []

    def start(variant, app):
        need_uwsgi()
        server = UWSGIServer(tmpdir, variant, app)
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


def blocked_round(server, count):
    """Send ``count`` blocked requests at once; ``[(request id, status, worker pid)]``."""
    results = []
    errors = []

    def one(n):
        request_id = uuid.uuid4().hex
        headers = {"X-Forwarded-For": "203.0.113.%d" % (n + 1), "X-Request-Id": request_id}
        try:
            status, pid, _ = server.request("/pid", headers)
            results.append((request_id, status, pid))
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def read_events(path, finished=True):
    """Every line of the events file, parsed (a line that is not JSON fails the test).

    While the server runs (``finished`` false) a last line without its newline
    may still be being written: it is left for the next read.
    """
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    lines = text.splitlines()
    if not finished and lines and not text.endswith("\n"):
        lines.pop()
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            raise AssertionError("not a JSON line: %r" % line)
    return events


def blocked_ip_events(path, finished=True):
    return [event for event in read_events(path, finished)
            if event.get("kind") == "attack" and event.get("attack_type") == "blocked_ip"]


def wait_for_events(path, request_ids):
    """Wait (bounded) until each of ``request_ids`` has an event in the file."""
    wanted = set(request_ids)
    for _ in range(300):  # 30 s at most
        seen = set(e["request"]["request_id"] for e in blocked_ip_events(path, finished=False))
        if wanted <= seen:
            return
        time.sleep(0.1)


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_worker_reports_its_blocked_requests(serve, variant, app):
    server = serve(variant, app)
    sent = []
    for _ in range(MAX_ROUNDS):
        sent.extend(blocked_round(server, BATCH))
        if len(sent) >= MIN_REQUESTS and len(set(pid for _, _, pid in sent)) >= 2:
            break
    log = server.log()
    assert [status for _, status, _ in sent] == [403] * len(sent), log
    worker_pids = set(pid for _, _, pid in sent)
    assert len(worker_pids) == 2, ("both workers should have served", worker_pids, log)

    wait_for_events(server.events_file, [request_id for request_id, _, _ in sent])
    server.stop()  # nothing more can be written: the file is final
    events = blocked_ip_events(server.events_file)
    by_id = {}
    for event in events:
        by_id.setdefault(event["request"]["request_id"], []).append(event)
    expected = dict((request_id, int(pid)) for request_id, _, pid in sent)
    assert sorted(by_id) == sorted(expected), log
    for request_id, pid in expected.items():
        found = by_id[request_id]
        assert len(found) == 1, found
        assert found[0]["pid"] == pid and found[0]["blocked"] is True, found
        assert found[0]["request"]["client_ip"].startswith("203.0.113."), found
    assert set(e["pid"] for e in events) == set(int(pid) for pid in worker_pids)
    if variant == "prefork":  # the master's own event, written before the fork, and only once
        before = [event for event in read_events(server.events_file) if event.get("name") == "before-fork"]
        assert len(before) == 1 and before[0]["pid"] not in expected.values(), before
    assert "Traceback" not in server.log()
