import json
import os
import subprocess
import sys
import threading
import time

import pytest

from sqreen import _cli_events, _events, _reporter
from tests.helpers import ROOT

REQ = {"method": "POST", "path": "/login", "client_ip": "198.51.100.1"}


def write_events(path, events, extra=b""):
    with open(path, "ab") as f:
        for event in events:
            f.write(_reporter.encode(event))
        f.write(extra)


def sample():
    return [
        _events.attack_event("sqli", request=REQ, blocked=True),
        _events.attack_event("sqli", request=dict(REQ, client_ip="198.51.100.2")),
        _events.attack_event("xss", request=dict(REQ, path="/search")),
        _events.auth_event(False, user={"email": "a@example.com"}, request=REQ),
        _events.track_event("export"),
    ]


@pytest.fixture
def events_file(tmp_path):
    path = str(tmp_path / "events.jsonl")
    write_events(path, sample(), extra=b'{"truncated": \n\xff\xfe not json\n[1, 2]\n\n')
    return path


def test_summary_counts_tops_and_last_events(events_file, capsys):
    assert _cli_events.main([events_file, "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert "%s: 5 events (3 corrupt lines skipped)" % events_file in out
    assert "By kind:\n        3  attack\n        1  auth\n        1  track" in out
    assert "Attacks by type:\n        2  sqli\n        1  xss" in out
    assert "Top client IPs:\n        3  198.51.100.1\n        1  198.51.100.2" in out
    assert "Top paths:\n        3  /login\n        1  /search" in out
    last = out.split("Last 2 events:\n")[1].splitlines()
    assert "auth" in last[0] and "login failure" in last[0] and "user=a@example.com" in last[0]
    assert "track" in last[1] and "export" in last[1]


def test_json_output_for_scripts(events_file, capsys):
    assert _cli_events.main([events_file, "--json", "-n", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == 5 and summary["corrupt_lines"] == 3
    assert summary["by_kind"] == {"attack": 3, "auth": 1, "track": 1}
    assert summary["attack_types"] == {"sqli": 2, "xss": 1}
    assert summary["top_client_ips"] == [["198.51.100.1", 3], ["198.51.100.2", 1]]
    assert summary["top_paths"] == [["/login", 3], ["/search", 1]]
    assert [e["name"] for e in summary["last"]] == ["export"]


def test_default_file_is_in_the_working_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(str(tmp_path))
    write_events("sqreen-events.jsonl", sample()[:1])
    assert _cli_events.main([]) == 0
    assert "sqreen-events.jsonl: 1 events" in capsys.readouterr().out


def test_missing_file_is_a_one_line_error(tmp_path, capsys):
    assert _cli_events.main([str(tmp_path / "nope.jsonl")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("sqreen events: cannot read ") and "No such file" in err


def test_unreadable_file_is_a_one_line_error(tmp_path, capsys):
    assert _cli_events.main([str(tmp_path)]) == 2  # a directory
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sqreen events: cannot read ")


def test_bad_arguments_exit_2(capsys):
    assert _cli_events.main(["-n", "many"]) == 2
    assert _cli_events.main(["--help"]) == 0
    assert "sqreen events" in capsys.readouterr().out


def test_every_kind_has_a_one_line_form():
    for event in sample() + [_events.signup_event({"id": 1}), _events.agent_error_event("x", message="m"),
                             _events.metrics_event(0, 1, events={"attack": 2}, dropped=1)]:
        line = _cli_events.format_event(event)
        assert "\n" not in line and event["kind"] in line


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "e.jsonl"
    path.write_bytes(b"")
    assert _cli_events.main([str(path)]) == 0
    assert capsys.readouterr().out == "%s: 0 events\n" % path


class Follower(object):
    """``sqreen events --follow`` in a subprocess, its output read line by line."""

    def __init__(self, path, *args):
        code = "import sys; from sqreen._cli_events import main; sys.exit(main(sys.argv[1:]))"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, path, "--follow", "--interval", "0.02"] + list(args),
            stdout=subprocess.PIPE, cwd=ROOT,
        )
        self.lines = []
        self.cond = threading.Condition()
        reader = threading.Thread(target=self._read)
        reader.daemon = True
        reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8").rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, count, timeout=30):
        deadline = time.time() + timeout
        with self.cond:
            while len(self.lines) < count and time.time() < deadline:
                self.cond.wait(0.1)
            assert len(self.lines) >= count, self.lines
            return list(self.lines)

    def close(self):
        self.proc.kill()
        self.proc.wait()


def named(name):
    return _events.track_event(name)


def test_follow_prints_new_events_across_rotation_and_truncation(tmp_path):
    path = str(tmp_path / "e.jsonl")
    write_events(path, [named("old-1"), named("old-2")])
    follower = Follower(path, "-n", "1", "--json")
    try:
        assert [json.loads(x)["name"] for x in follower.wait_for(1)] == ["old-2"]
        write_events(path, [named("new-1")])
        with open(path, "ab") as f:  # a line written in two pieces is shown once whole
            line = _reporter.encode(named("split"))
            f.write(line[:10])
            f.flush()
            time.sleep(0.1)
            f.write(line[10:] + b"garbage\n")
        follower.wait_for(3)
        os.rename(path, path + ".1")  # rotation: a new file appears at the path
        write_events(path + ".1", [named("late-in-old")])
        padded = named("rotated")
        padded["properties"] = {"pad": "p" * 2000}  # so what follows the truncation is shorter
        write_events(path, [padded])
        follower.wait_for(5)
        with open(path, "wb"):  # truncation in place (copytruncate)
            pass
        write_events(path, [named("after-truncate")])
        names = [json.loads(x)["name"] for x in follower.wait_for(6)]
        assert names == ["old-2", "new-1", "split", "late-in-old", "rotated", "after-truncate"]
        assert follower.proc.poll() is None  # still following
    finally:
        follower.close()


def test_follow_text_output(tmp_path):
    path = str(tmp_path / "e.jsonl")
    write_events(path, [])
    follower = Follower(path)
    try:
        write_events(path, [_events.attack_event("sqli", request=REQ, blocked=True)])
        (line,) = follower.wait_for(1)
        assert "attack" in line and "sqli blocked" in line and "POST /login from 198.51.100.1" in line
    finally:
        follower.close()
