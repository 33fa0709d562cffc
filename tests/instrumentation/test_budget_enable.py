"""Hooks made before the first time budget opens: untimed until then, timed and skippable after."""
import json

from tests.helpers import run_python

# A fresh interpreter: in this one another test may have opened a budget already.
SCENARIO = """
import json, sys, types
from sqreen.instrumentation import _budget, budget, hook
from sqreen.instrumentation._hookpoint import HookPoint

readings = []
real = _budget.clock
_budget.clock = lambda: readings.append(1) or real()
ran = []

def target(a):
    return a

hp = HookPoint("t")
hp.add(pre=lambda i, a, k: ran.append("call:pre"), interruptible=True)
hp.add(post=lambda i, a, k, r: ran.append("call:post"))
calls = {"call": lambda: hp.call(target, None, (1,), {})}
if sys.version_info >= (3, 6):
    namespace = {}
    exec("def f(a):\\n    return a\\n", namespace)
    f = namespace["f"]
    hook(f, pre=lambda i, a, k: ran.append("inject:pre"), interruptible=True, mechanism="inject")
    hook(f, post=lambda i, a, k, r: ran.append("inject:post"), mechanism="inject")
    calls["inject"] = lambda: f(1)
owner = types.ModuleType("owner")
owner.g = target
hook((owner, "g"), pre=lambda i, a, k: ran.append("wrapper:pre"), interruptible=True, mechanism="wrapper")
hook((owner, "g"), post=lambda i, a, k, r: ran.append("wrapper:post"), mechanism="wrapper")
calls["wrapper"] = lambda: owner.g(1)

result = {}
for name, call in sorted(calls.items()):
    del ran[:], readings[:]
    assert call() == 1
    untimed = (list(ran), len(readings))
    opened = budget.start(1000)
    del ran[:], readings[:]
    call()
    timed = (list(ran), len(readings))
    budget.stop()
    spent = budget.start(0)
    del ran[:]
    call()
    budget.stop()
    result[name] = [untimed, timed, [list(ran), spent.skipped]]
print(json.dumps(result))
"""


def test_hooks_made_before_the_first_budget_get_timed_once_it_opens():
    _, out, _ = run_python(SCENARIO)
    result = json.loads(out.strip().splitlines()[-1])
    assert "wrapper" in result and "call" in result
    for name, (untimed, timed, spent) in result.items():
        both = [name + ":pre", name + ":post"]
        assert untimed == [both, 0], name  # no budget ever opened: no clock read
        assert timed == [both, 5], name  # start and end of each chain, the pre's budget check
        assert spent == [[name + ":post"], 1], name  # the interruptible pre is skipped


NOTHING_TO_SKIP = """
import json
from sqreen.instrumentation import _budget, budget
from sqreen.instrumentation._hookpoint import HookPoint

readings = []
real = _budget.clock
_budget.clock = lambda: readings.append(1) or real()

def target(a):
    return a

hp = HookPoint("t")
hp.add(pre=lambda i, a, k: None, post=lambda i, a, k, r: None)
result = []
for step in ("blocking only", "interruptible added"):
    if step == "interruptible added":
        hp.add(pre=lambda i, a, k: None, interruptible=True)
    del readings[:]
    budget.start(1000)
    try:
        hp.call(target, None, (1,), {})
        result.append([step, len(readings), budget.spent() > 0])
    finally:
        budget.stop()
print(json.dumps(result))
"""


def test_no_clock_read_while_no_callback_can_be_skipped():
    # Timing only serves skipping interruptible callbacks: with none registered, a
    # request's hooked calls read no clock, even with a budget open.
    _, out, _ = run_python(NOTHING_TO_SKIP)
    assert json.loads(out.strip().splitlines()[-1]) == [["blocking only", 0, False],
                                                        ["interruptible added", 5, True]]  # + its check
