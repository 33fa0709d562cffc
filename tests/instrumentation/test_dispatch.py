"""The hook point's dispatch: generated straight-line code and its generic twin agree."""
import sys
import threading

import pytest

from sqreen import _log
from sqreen.instrumentation import RequestBlocked, ReplaceArgs, ReturnValue, agent_code, budget, hook
from sqreen.instrumentation._hookpoint import HookPoint, thread_state


def target(a, b=0):
    if a == "raise":
        raise ValueError(b)
    return (a, b)


@pytest.fixture(params=["call", "dispatch"])
def entry(request):
    """Run each scenario through the generated ``call`` and the generic ``dispatch``."""
    return request.param


def run(hp, entry, *args, **kwargs):
    return getattr(hp, entry)(target, "self", args, kwargs)


def test_no_callbacks_calls_straight_through(entry):
    hp = HookPoint("t")
    assert not hp.active
    assert run(hp, entry, 1, b=2) == (1, 2)


def test_chain_with_replacements_midway(entry):
    hp = HookPoint("t")
    seen = []
    hp.add(pre=lambda i, a, k: seen.append(("p0", i, a, k)))
    hp.add(pre=lambda i, a, k: ReplaceArgs((a[0] + 1,), {"b": 10}))
    hp.add(pre=lambda i, a, k: seen.append(("p2", a, k)))
    hp.add(post=lambda i, a, k, r: ReturnValue(r + ("post",)))
    hp.add(post=lambda i, a, k, r: seen.append(("p4", r)))
    assert run(hp, entry, 1) == (2, 10, "post")
    assert seen == [("p0", "self", (1,), {}), ("p2", (2,), {"b": 10}), ("p4", (2, 10, "post"))]


def test_return_value_midway_skips_the_rest(entry):
    hp = HookPoint("t")
    seen = []
    hp.add(pre=lambda i, a, k: ReturnValue("short"))
    hp.add(pre=lambda i, a, k: seen.append("pre"), post=lambda *a: seen.append("post"))
    assert run(hp, entry, 1) == "short" and seen == []


def test_failing_chain_first_replacement_wins(entry):
    hp = HookPoint("t")
    seen = []
    hp.add(failing=lambda i, a, k, e: seen.append(("f0", e.args)))
    hp.add(failing=lambda i, a, k, e: ReturnValue("first"))
    hp.add(failing=lambda i, a, k, e: ReturnValue("second"))
    assert run(hp, entry, "raise", 3) == "first"
    assert seen == [("f0", (3,))]


def test_errors_and_blocks(entry):
    hp = HookPoint("t")

    def broken(*args):
        raise RuntimeError("agent bug")

    def block(i, a, k, r):
        if a[0] == "block":
            raise RequestBlocked()

    hp.add(pre=broken, post=block)
    assert run(hp, entry, 1) == (1, 0)
    with pytest.raises(RequestBlocked):
        run(hp, entry, "block")
    assert not thread_state().busy  # the flag is down after a block too
    assert sum(n for k, n in _log.counters().items() if "callback_error" in k) == 2


def test_interruptible_post_skipped_once_budget_spent(entry):
    hp = HookPoint("t")
    seen = []
    hp.add(post=lambda *a: seen.append("monitor"), interruptible=True)
    hp.add(post=lambda *a: seen.append("protect"))
    budget.start(0)
    try:
        run(hp, entry, 1)
    finally:
        spent = budget.stop()
    assert seen == ["protect"] and spent.skipped == 1


def test_agent_code_suppresses_callbacks():
    hp = HookPoint("t")
    seen = []
    hp.add(pre=lambda *a: seen.append(1))
    with agent_code():
        assert hp.call(target, None, (1,), {}) == (1, 0)
    hp.call(target, None, (1,), {})
    assert seen == [1]


def test_flag_is_per_thread():
    flags = []
    thread_state().busy = True
    worker = threading.Thread(target=lambda: flags.append(thread_state().busy))
    worker.start()
    worker.join(10)
    thread_state().busy = False
    assert flags == [False]


def test_registration_handles():
    hp = HookPoint("t")
    emptied = []
    hp.on_empty = lambda: emptied.append(True)
    first, second = hp.add(pre=len), hp.add(post=len)
    with pytest.raises(TypeError):
        hp.add(pre="not callable")
    first.remove()
    first.remove()
    assert hp.active and emptied == []
    second.remove()
    assert not hp.active and emptied == [True]
    assert "removed" in repr(second)


def test_broken_listener_is_logged_not_raised():
    hp = HookPoint("t")

    def listener():
        raise RuntimeError("cannot rebuild")

    hp.listeners.append(listener)
    hp.add(pre=len)
    assert any(k.startswith("instrumentation.listener") for k in _log.counters())


def test_generated_code_calls_each_callback_by_name():
    hp = HookPoint("t")
    hp.add(pre=len, post=len)
    code = hp.call.__code__
    assert "_sqreen_pre0" in code.co_names and "_sqreen_post0" in code.co_names


@pytest.mark.skipif(sys.version_info < (3, 6), reason="inject: CPython 3.6+ only")
def test_module_shadowing_builtins_does_not_break_trampolines():
    namespace = {"Exception": None, "AttributeError": None, "type": None}
    exec("def f(a):\n    return a\n", namespace)
    f = namespace["f"]

    def broken(*args):
        raise KeyError()

    hook(f, pre=broken, post=lambda i, a, k, r: ReturnValue(r + 1), mechanism="inject")
    assert f(1) == 2


@pytest.mark.parametrize("entry", ["call", "trampoline"])
def test_time_is_measured_only_while_a_budget_is_open(monkeypatch, entry):
    from sqreen.instrumentation import _budget

    readings = []
    real = _budget.clock
    monkeypatch.setattr(_budget, "clock", lambda: readings.append(1) or real())
    if entry == "trampoline":
        if sys.version_info < (3, 6):
            pytest.skip("inject: CPython 3.6+ only")
        namespace = {}
        exec("def f(a, b=0):\n    return (a, b)\n", namespace)
        f = namespace["f"]
        hook(f, pre=lambda *a: None, post=lambda *a: None, mechanism="inject", interruptible=True)
    else:
        hp = HookPoint("t")
        hp.add(pre=lambda *a: None, post=lambda *a: None, interruptible=True)
        f = lambda *args: hp.call(target, None, args, {})  # noqa: E731
    f(1)
    assert readings == []
    budget.start(1000)
    try:
        f(1)
    finally:
        budget.stop()
    assert len(readings) == 6  # start and end of each chain, and each interruptible callback's budget check


BUDGET_TASKS = """
async def request(name, ms, log):
    budget.start(ms)
    await asyncio.sleep(0)
    hp.call(target, None, (name,), {})
    await asyncio.sleep(0)
    log.append((name, budget.stop().skipped))

async def main(log):
    await asyncio.gather(request("spent", 0, log), request("fresh", 10000, log))
"""


@pytest.mark.skipif(sys.version_info < (3, 7), reason="budgets are per task with contextvars (3.7+)")
def test_budget_is_per_asyncio_task():
    import asyncio

    hp = HookPoint("t")
    ran = []
    hp.add(pre=lambda i, a, k: ran.append(a[0]), interruptible=True)
    namespace = {"asyncio": asyncio, "budget": budget, "hp": hp, "target": target}
    exec(BUDGET_TASKS, namespace)
    log = []
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(namespace["main"](log))
    finally:
        loop.close()
    assert sorted(log) == [("fresh", 0), ("spent", 1)] and ran == ["fresh"]
