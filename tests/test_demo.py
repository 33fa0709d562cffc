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


#: The attacks in the script's order: (attack_type, verdict with the agent, input name).
ATTACKS = [("sqli", "blocked", "username"), ("sqli", "blocked", "username"), ("sqli", "blocked", "q"),
           ("sqli", "blocked", "body"), ("shell_injection", "blocked", "host"),
           ("path_traversal", "blocked", "name"), ("ssrf", "blocked", "url"), ("ssrf", "blocked", "url"),
           ("xss", "escaped", "name")]
BENIGN = 9


def test_the_demo_succeeds(demo):
    code, out, err = demo
    assert code == 0, (out, err)
    assert ("== Result: 9/9 attacks stopped (8 blocked, 1 escaped), 9/9 benign requests answered as without "
            "the agent, 9 attack event(s)") in out
    assert ("per protection: sqli 4/4 blocked; shell_injection 1/1 blocked; path_traversal 1/1 blocked; "
            "ssrf 2/2 blocked; xss 1/1 escaped") in out


def test_without_the_agent_the_attacks_work(demo):
    without, _ = runs(demo[1])
    assert len(without) == BENIGN + len(ATTACKS) and all(status == 200 for _, _, status, _ in without)
    attacks = [verdict for kind, _, _, verdict in without if kind == "attack"]
    assert attacks == ["no agent: the attack WORKED"] * 3 + ["no agent: its effect shows below"] + \
        ["no agent: the attack WORKED"] * 5
    out = demo[1].split("== 2.")[0]
    assert "Welcome, admin!" in out and "s3cr3t-admin-pw" in out  # bypass and extraction
    assert "admin's password in the database afterwards: 'pwned'" in out  # the stacked query ran
    assert "checking host 127.0.0.1 uid=" in out  # the injected command ran
    assert "secret_key = demo-SECRET-key" in out  # the file outside the reports directory leaked
    assert "Internal admin console" in out and "root:" in out  # the internal page and the local file fetched
    assert "<p>Hello <script>alert(1)</script>!</p>" in out  # the script reflected


def test_with_the_agent_attacks_are_stopped_and_benign_requests_answered_alike(demo):
    without, with_agent = runs(demo[1])
    expected = [("benign", 200)] * BENIGN + [("attack", 403)] * (len(ATTACKS) - 1) + [("attack", 200)]
    assert [(kind, status) for kind, _, status, _ in with_agent] == expected
    assert [verdict for kind, _, _, verdict in with_agent if kind == "benign"] == ["allowed"] * BENIGN
    assert with_agent[-1][3] == "ESCAPED by the agent: the page is served with the input escaped"
    assert any("O'Brien" in label for _, label, _, _ in with_agent)  # the apostrophe, through a bound query
    protected = demo[1].split("== 2.")[1]
    assert "Welcome, admin!" not in protected and "s3cr3t-admin-pw" in protected.split("database")[1]
    for leak in ("uid=", "secret_key", "Internal admin console", "root:", "<script>"):
        assert leak not in protected
    assert "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;!</p>" in protected
    benign_lines = [line for line in demo[1].splitlines() if re.match(r"\s+-> ", line)]
    assert benign_lines[:BENIGN] == [line.replace("| allowed", "| no agent")
                                     for line in benign_lines[len(without):len(without) + BENIGN]]


def test_the_events_file_has_one_event_per_attack(demo):
    out = demo[1]
    path = re.search(r"^Events file: (.+)$", out, re.M).group(1)
    assert "sqreen events %s" % path in out
    with open(path) as f:
        events = [json.loads(line) for line in f if line.strip()]
    attacks = [e for e in events if e["kind"] == "attack"]
    printed = re.findall(r"BLOCKED by the agent, event ([0-9a-f]{32})", out)
    assert len(printed) == len(ATTACKS) - 1
    assert [e["event_id"] for e in attacks[:-1]] == printed  # one request at a time: events in order
    assert [(e["attack_type"], e["input"]["name"]) for e in attacks] == [(t, n) for t, _, n in ATTACKS]
    assert all(e["blocked"] for e in attacks)  # for XSS: escaped in place
    assert attacks[-1]["request"]["path"] == "/hello"
    sources = ["form"] * 2 + ["query"] * (len(ATTACKS) - 2)
    for event, (_, verdict, name), source in zip(attacks, ATTACKS, sources):
        shown = (event["event_id"], event["attack_type"], verdict, source, name)
        line = "event %s: %-15s %s, input %s '%s'\n" % shown
        assert line in out


def test_bad_usage():
    code, _, err = run_demo("--no-such-option")
    assert code == 2 and "usage" in err
