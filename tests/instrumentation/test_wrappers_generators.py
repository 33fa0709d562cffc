"""Generators, coroutines and async generators hooked by the wrapper mechanism.

The wrapper is of the same kind as its target and the callbacks run when the
body runs, as under code injection: pre at the first resume, post with the
returned value, failing with the exception. Async syntax lives in strings so
this module imports on 2.7.
"""
import inspect
import sys
import types

import pytest

from sqreen.instrumentation import ReturnValue, hook

PY2 = sys.version_info[0] == 2

SOURCE = '''
def count(n):
    """Count up to n."""
    for i in range(n):
        yield i

class Owner(object):
    def items(self, n):
        for i in range(n):
            yield (self, i)
'''

RETURNING_SOURCE = '''
def gen(n):
    for i in range(n):
        got = yield i
        if got == "stop":
            return "stopped"
    return "done %d" % n

def broken_gen():
    yield 1
    raise ValueError("gen boom")
'''

ASYNC_SOURCE = '''
import asyncio

async def coro(x):
    """Double x, later."""
    await asyncio.sleep(0)
    return 2 * x

async def agen(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i

async def collect(n):
    return [item async for item in agen(n)]
'''


def make_module(source):
    module = types.ModuleType("sqreen_wrapgen_target")
    exec(source, module.__dict__)
    return module


def recorder(log):
    return dict(
        pre=lambda instance, args, kwargs: log.append(("pre", instance, args)),
        post=lambda instance, args, kwargs, result: log.append(("post", result)),
        failing=lambda instance, args, kwargs, exc: log.append(("failing", type(exc).__name__, str(exc))),
    )


@pytest.fixture
def mod():
    return make_module(SOURCE)


def run(coroutine):
    loop = __import__("asyncio").new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


@pytest.mark.xfail(
    PY2,
    strict=True,
    reason="2.7 generators get the plain closure: not a generator function, callbacks run at the call "
    "and post sees the generator object",
)
def test_generator_callbacks_run_with_its_body(mod):
    log = []
    handle = hook((mod, "count"), mechanism="wrapper", **recorder(log))
    assert inspect.isgeneratorfunction(mod.count)
    assert mod.count.__doc__ == "Count up to n."
    generator = mod.count(3)
    assert log == []  # nothing runs before the first resume
    assert list(generator) == [0, 1, 2]
    assert log == [("pre", None, (3,)), ("post", None)]
    handle.remove()
    assert not hasattr(mod.count, "__wrapped__")


@pytest.mark.skipif(PY2, reason="generators return values from Python 3.3")
def test_generator_send_reaches_the_body():
    mod = make_module(RETURNING_SOURCE)
    log = []
    hook((mod, "gen"), mechanism="wrapper", **recorder(log))
    generator = mod.gen(10)
    assert next(generator) == 0
    with pytest.raises(StopIteration) as stopped:
        generator.send("stop")
    assert stopped.value.value == "stopped"
    assert log[-1] == ("post", "stopped")


@pytest.mark.skipif(PY2, reason="generators return values from Python 3.3")
def test_generator_failure_and_replacement():
    mod = make_module(RETURNING_SOURCE)
    log = []
    hook((mod, "broken_gen"), mechanism="wrapper", **recorder(log))
    generator = mod.broken_gen()
    assert next(generator) == 1
    with pytest.raises(ValueError):
        next(generator)
    assert log[-1] == ("failing", "ValueError", "gen boom")
    hook((mod, "gen"), mechanism="wrapper", pre=lambda i, a, k: ReturnValue("replaced"))
    with pytest.raises(StopIteration) as stopped:
        next(mod.gen(3))
    assert stopped.value.value == "replaced"


@pytest.mark.skipif(PY2, reason="see test_generator_callbacks_run_with_its_body")
def test_generator_method_sees_its_instance(mod):
    log = []
    hook((mod.Owner, "items"), mechanism="wrapper", **recorder(log))
    owner = mod.Owner()
    assert list(owner.items(2)) == [(owner, 0), (owner, 1)]
    assert log == [("pre", owner, (2,)), ("post", None)]


@pytest.mark.skipif(PY2, reason="async functions are Python 3")
def test_coroutine_function_stays_one_and_post_sees_the_awaited_result():
    mod = make_module(ASYNC_SOURCE)
    log = []
    handle = hook((mod, "coro"), mechanism="wrapper", **recorder(log))
    assert inspect.iscoroutinefunction(mod.coro)
    assert mod.coro.__name__ == "coro"
    coroutine = mod.coro(4)
    assert log == []
    assert run(coroutine) == 8
    assert log == [("pre", None, (4,)), ("post", 8)]
    handle.remove()
    assert run(mod.coro(1)) == 2
    assert len(log) == 2


@pytest.mark.skipif(PY2, reason="async generators are Python 3.6+")
def test_async_generator_stays_one():
    mod = make_module(ASYNC_SOURCE)
    log = []
    hook((mod, "agen"), mechanism="wrapper", **recorder(log))
    assert inspect.isasyncgenfunction(mod.agen)
    assert run(mod.collect(3)) == [0, 1, 2]
    assert log == [("pre", None, (3,)), ("post", None)]
