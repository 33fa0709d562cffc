"""Fork safety: each scenario runs in a fresh interpreter, which forks."""
import json

from tests.helpers import run_python

FORK_WHILE_BUSY = """
import json, os, sys, threading, time
from sqreen import _reporter, _events

path = os.environ["EVENTS"]
_reporter.start({"events_file": path, "queue_size": 100000, "flush_timeout": 20})
go = [True]

def spam():
    i = 0
    while go[0]:
        _reporter.report(_events.track_event("parent", properties={"i": i}))
        i += 1

spammer = threading.Thread(target=spam)
spammer.start()
children = []
for n in range(20):
    pid = os.fork()
    if pid == 0:
        # The parent's reporter thread and spammer do not exist here.
        _reporter.report(_events.track_event("child", properties={"n": n}))
        ok = _reporter.stop(20)
        os._exit(0 if ok else 3)
    children.append(pid)
    time.sleep(0.005)
go[0] = False
spammer.join()
deadline = time.time() + 60
pending = set(children)
while pending and time.time() < deadline:
    for pid in list(pending):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert status == 0, (pid, status)
            pending.discard(pid)
    time.sleep(0.01)
for pid in pending:
    os.kill(pid, 9)
assert not pending, "children hung: %r" % sorted(pending)
assert _reporter.stop(20)
print(json.dumps({"parent": os.getpid(), "children": children}))
"""


def test_children_forked_while_the_reporter_is_busy_report_their_own_events(tmp_path):
    path = str(tmp_path / "e.jsonl")
    _, out, _ = run_python(FORK_WHILE_BUSY, env={"EVENTS": path}, timeout=120)
    pids = json.loads(out.strip().splitlines()[-1])
    with open(path) as f:
        events = [json.loads(line) for line in f]  # every line whole
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids)), "a child re-sent events inherited from the parent"
    by_pid = {}
    for event in events:
        by_pid.setdefault(event["pid"], []).append(event)
    for n, child in enumerate(pids["children"]):
        mine = [e for e in by_pid.get(child, []) if e["kind"] == "track"]
        assert [(e["name"], e["properties"]) for e in mine] == [("child", {"n": n})]
    parent = [e for e in by_pid[pids["parent"]] if e["kind"] == "track"]
    assert parent and all(e["name"] == "parent" for e in parent)


FORK_WITH_LOCK_HELD = """
import json, os, sys, threading
from sqreen import _reporter, _events

_reporter.start({"events_file": os.environ["EVENTS"], "flush_timeout": 20})
_reporter.report(_events.track_event("before"))
_reporter.flush(20)
held = threading.Event()

def hold():
    _reporter._state.lock.acquire()  # as if the reporter thread held it at fork time
    held.set()

threading.Thread(target=hold).start()
held.wait()
pid = os.fork()
if pid == 0:
    ok = _reporter.report(_events.track_event("child")) and _reporter.flush(20)
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
print(json.dumps({"status": status, "child": pid}))
sys.stdout.flush()
os._exit(0)  # the thread holding the lock would block a normal exit
"""


def test_a_lock_held_at_fork_time_does_not_deadlock_the_child(tmp_path):
    path = str(tmp_path / "e.jsonl")
    _, out, _ = run_python(FORK_WITH_LOCK_HELD, env={"EVENTS": path}, timeout=60)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == 0
    with open(path) as f:
        events = [json.loads(line) for line in f]
    assert [(e["name"], e["pid"]) for e in events if e["name"] == "child"] == [("child", result["child"])]


def test_after_fork_state_is_fresh():
    """The child's reporter shares nothing mutable with the parent's."""
    _, out, _ = run_python(
        """
        import os, sys
        from sqreen import _reporter, _events
        _reporter.start({"events_file": "/dev/null"})
        parent = _reporter._state
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            st = _reporter._current()
            fresh = (st is not parent and st.lock is not parent.lock and st.queue is not parent.queue
                     and st.thread is None and st.pid == os.getpid())
            os.write(w, b"1" if fresh else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        print(os.read(r, 1).decode())
        """
    )
    assert out.strip() == "1"
