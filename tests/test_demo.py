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
        found.append([])
        for line in part.splitlines():
            match = re.match(r"\s+\d+\. (benign|attack) (.+?)\s{2,}", line)
            if match:
                head = match.groups()
            result = re.match(r"\s+-> (\d+) .*\| (.+)$", line)
            if result:  # after its head line, and a brute force's line of wrong guesses
                found[-1].append(head + (int(result.group(1)), result.group(2)))
    return found


#: The events in the order of the attacks, as the report lists them: (attack_type, verdict, why).
EVENTS = [("sqli", "blocked", "input form 'username'"), ("sqli", "blocked", "input form 'username'"),
          ("sqli", "blocked", "input query 'q'"), ("sqli", "blocked", "input query 'body'"),
          ("shell_injection", "blocked", "input query 'host'"),
          ("path_traversal", "blocked", "input query 'name'"),
          ("ssrf", "blocked", "input query 'url'"), ("ssrf", "blocked", "input query 'url'"),
          ("xss", "escaped", "input query 'name'"),
          ("account_takeover", "flagged the client", "rule ato-user-failures"),  # the 5th wrong guess
          ("account_takeover", "blocked", "rule ato-blocked-ip")]  # the right password, refused
ATTACKS = 10
BENIGN = 9
WORKED = "no agent: the attack WORKED"


def test_the_demo_succeeds(demo):
    code, out, err = demo
    assert code == 0, (out, err)
    assert ("== Result: 10/10 attacks stopped (9 blocked, 1 escaped), 9/9 benign requests answered as "
            "without the agent, 11 attack event(s)") in out
    summary = re.search(r"per protection: (.*\n.*)", out).group(1)
    assert " ".join(summary.split()) == ("sqli 4/4 blocked; shell_injection 1/1 blocked; path_traversal 1/1 "
                                         "blocked; ssrf 2/2 blocked; xss 1/1 escaped; "
                                         "account_takeover 1/1 blocked")


def test_without_the_agent_the_attacks_work(demo):
    without, _ = runs(demo[1])
    assert len(without) == BENIGN + ATTACKS and all(status == 200 for _, _, status, _ in without)
    attacks = [verdict for kind, _, _, verdict in without if kind == "attack"]
    assert attacks == [WORKED] * 3 + ["no agent: its effect shows below"] + [WORKED] * 6
    out = demo[1].split("== 2.")[0]
    assert "Welcome, admin!" in out and "s3cr3t-admin-pw" in out  # bypass and extraction
    assert "admin's password in the database afterwards: 'pwned'" in out  # the stacked query ran
    assert "checking host 127.0.0.1 uid=" in out  # the injected command ran
    assert "secret_key = demo-SECRET-key" in out  # the file outside the reports directory leaked
    assert "Internal admin console" in out and "root:" in out  # the internal page and the local file fetched
    assert "<p>Hello <script>alert(1)</script>!</p>" in out  # the script reflected
    assert "(5 wrong guesses first, answered 401, 401, 401, 401, 401; then the right one)" in out
    assert without[-1][1].startswith("brute force") and without[-1][3] == WORKED  # logged in as alice


def test_with_the_agent_attacks_are_stopped_and_benign_requests_answered_alike(demo):
    without, with_agent = runs(demo[1])
    expected = [("benign", 200)] * BENIGN + [("attack", 403)] * (ATTACKS - 2) + [("attack", 200)] \
        + [("attack", 403)]
    assert [(kind, status) for kind, _, status, _ in with_agent] == expected
    assert [verdict for kind, _, _, verdict in with_agent if kind == "benign"] == ["allowed"] * BENIGN
    assert with_agent[-2][3] == "ESCAPED by the agent: the page is served with the input escaped"
    assert any("O'Brien" in label for _, label, _, _ in with_agent)  # the apostrophe, through a bound query
    protected = demo[1].split("== 2.")[1]
    assert "Welcome, admin!" not in protected and "s3cr3t-admin-pw" in protected.split("database")[1]
    assert protected.split("brute force")[1].split("database")[0].count("Welcome, alice!") == 0
    for leak in ("uid=", "secret_key", "Internal admin console", "root:", "<script>"):
        assert leak not in protected
    assert "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;!</p>" in protected
    assert "(5 wrong guesses first, answered 401, 401, 401, 401, 401; then the right one)" in protected
    answers = [line for line in demo[1].splitlines() if re.match(r"\s+-> ", line)]
    assert answers[:BENIGN] == [line.replace("| allowed", "| no agent")
                                for line in answers[len(without):len(without) + BENIGN]]


def test_the_events_file_has_one_event_per_attack(demo):
    out = demo[1]
    path = re.search(r"^Events file: (.+)$", out, re.M).group(1)
    assert "sqreen events %s" % path in out
    with open(path) as f:
        events = [json.loads(line) for line in f if line.strip()]
    attacks = [e for e in events if e["kind"] == "attack"]
    assert [e["attack_type"] for e in attacks] == [t for t, _, _ in EVENTS]
    printed = re.findall(r"BLOCKED by the agent, event ([0-9a-f]{32})", out)
    assert printed == [e["event_id"] for e, (_, verdict, _) in zip(attacks, EVENTS) if verdict == "blocked"]
    assert all(e["blocked"] for e in attacks[:-2])  # for XSS: escaped in place
    assert not attacks[-2]["blocked"] and attacks[-1]["blocked"]  # the flag, then the refused login
    assert attacks[-3]["request"]["path"] == "/hello"
    for event, (attack_type, verdict, why) in zip(attacks, EVENTS):
        assert "event %s: %-16s %s, %s\n" % (event["event_id"], attack_type, verdict, why) in out


def test_bad_usage():
    code, _, err = run_demo("--no-such-option")
    assert code == 2 and "usage" in err
