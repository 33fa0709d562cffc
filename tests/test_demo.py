"""``sqreen demo`` end to end: the command in a subprocess, its output, exit status and events file."""
import json
import os
import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytest.importorskip("flask")


def run_demo(*args):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    code = "import sys; from sqreen._cli import main; sys.exit(main())"
    proc = subprocess.Popen([sys.executable, "-c", code, "demo"] + list(args), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


@pytest.fixture(scope="module")
def demo():
    return run_demo()


def runs(out):
    """The request lines of each run: ``[(kind, label, status, verdict)]`` for without / with the agent."""
    parts = re.split(r"^== \d\. ", out, flags=re.M)
    found = []
    for part in parts[1:3]:
        lines = part.splitlines()
        found.append([])
        for head, result in zip(lines, lines[1:]):
            match = re.match(r"\s+\d+\. (benign|attack) (.+?)\s{2,}", head)
            if match:
                status, verdict = re.match(r"\s+-> (\d+) .*\| (.+)$", result).groups()
                found[-1].append((match.group(1), match.group(2), int(status), verdict))
    return found


def test_the_demo_succeeds(demo):
    code, out, err = demo
    assert code == 0, (out, err)
    assert "== Result: 4/4 attacks blocked, 5/5 benign requests answered 200, 4 attack event(s)" in out


def test_without_the_agent_the_attacks_work(demo):
    without, _ = runs(demo[1])
    assert len(without) == 9 and all(status == 200 for _, _, status, _ in without)
    out = demo[1].split("== 2.")[0]
    assert "Welcome, admin!" in out and "s3cr3t-admin-pw" in out  # bypass and extraction
    assert "admin's password in the database afterwards: 'pwned'" in out  # the stacked query ran


def test_with_the_agent_attacks_are_blocked_and_benign_requests_answered(demo):
    _, with_agent = runs(demo[1])
    expected = [("benign", 200)] * 5 + [("attack", 403)] * 4
    assert [(kind, status) for kind, _, status, _ in with_agent] == expected
    assert [verdict for kind, _, _, verdict in with_agent if kind == "benign"] == ["allowed"] * 5
    assert any("O'Brien" in label for _, label, _, _ in with_agent)  # the apostrophe, through a bound query
    protected = demo[1].split("== 2.")[1]
    assert "Welcome, admin!" not in protected and "s3cr3t-admin-pw" in protected.split("database")[1]


def test_the_events_file_has_one_event_per_attack(demo):
    out = demo[1]
    path = re.search(r"^Events file: (.+)$", out, re.M).group(1)
    assert "sqreen events %s" % path in out
    with open(path) as f:
        events = [json.loads(line) for line in f if line.strip()]
    attacks = [e for e in events if e["kind"] == "attack"]
    printed = re.findall(r"BLOCKED by the agent, event ([0-9a-f]{32})", out)
    assert len(printed) == 4
    assert sorted(e["event_id"] for e in attacks) == sorted(printed)
    assert all(e["attack_type"] == "sqli" and e["blocked"] for e in attacks)
    assert [e["input"]["name"] for e in attacks] == ["username", "username", "q", "body"]


def test_bad_usage():
    code, _, err = run_demo("--no-such-option")
    assert code == 2 and "usage" in err
