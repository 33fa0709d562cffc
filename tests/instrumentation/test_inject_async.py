"""Code injection on coroutines and async generators (Python 3 only syntax)."""
import asyncio
import inspect
import sys
import types

import pytest

from sqreen.instrumentation import ReturnValue, hook

pytestmark = pytest.mark.skipif(sys.version_info < (3, 6), reason="inject: CPython 3.6+ only")


def run(coroutine):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def trace(log):
    return dict(pre=lambda i, a, k: log.append(("pre", a)),
                post=lambda i, a, k, r: log.append(("post", r)),
                failing=lambda i, a, k, e: log.append(("failing", type(e).__name__)))


def test_coroutine_stays_a_coroutine_and_post_sees_the_awaited_result():
    async def fetch(x):
        await asyncio.sleep(0)
        return x * 2

    log = []
    hook(fetch, **trace(log))
    assert inspect.iscoroutinefunction(fetch) and asyncio.iscoroutinefunction(fetch)
    coroutine = fetch(4)
    assert log == []  # pre runs when the coroutine starts
    assert run(coroutine) == 8
    assert log == [("pre", (4,)), ("post", 8)]


def test_coroutine_failing_and_replacement():
    async def fail():
        await asyncio.sleep(0)
        raise KeyError("x")

    hook(fail, failing=lambda i, a, k, e: ReturnValue("saved"))
    assert run(fail()) == "saved"


def test_coroutine_method_sees_instance():
    class Client(object):
        async def get(self, url):
            return url

    seen = []
    hook((Client, "get"), pre=lambda i, a, k: seen.append((i, a)))
    client = Client()
    assert run(client.get("/x")) == "/x" and seen == [(client, ("/x",))]


def test_generator_based_coroutine():
    @types.coroutine
    def legacy(x):
        yield
        return x + 1

    async def main():
        return await legacy(1)

    log = []
    hook(legacy, **trace(log))
    assert run(main()) == 2 and log == [("pre", (1,)), ("post", 2)]


def test_async_generator_asend_athrow_aclose_and_finally():
    closed = []

    async def ticks(n):
        try:
            got = None
            for i in range(n):
                try:
                    got = yield (i, got)
                except KeyError:
                    got = "thrown"
        finally:
            closed.append(True)

    log = []
    hook(ticks, **trace(log))
    assert inspect.isasyncgenfunction(ticks)

    async def main():
        assert [x async for x in ticks(2)] == [(0, None), (1, None)]
        agen = ticks(5)
        assert await agen.__anext__() == (0, None)
        assert await agen.asend("a") == (1, "a")
        assert await agen.athrow(KeyError) == (2, "thrown")
        await agen.aclose()

    run(main())
    assert closed == [True, True]
    assert log[:2] == [("pre", (2,)), ("post", None)] and log[2] == ("pre", (5,))
    assert len(log) == 3  # closed, not finished: no post


def test_async_generator_errors_reach_failing():
    async def broken():
        yield 1
        raise ValueError("x")

    log = []
    hook(broken, **trace(log))

    async def main():
        return [x async for x in broken()]

    with pytest.raises(ValueError):
        run(main())
    assert log[-1] == ("failing", "ValueError")


def test_coroutine_replaced_arguments_and_result():
    from sqreen.instrumentation import ReplaceArgs

    async def double(x):
        return x * 2

    hook(double, pre=lambda i, a, k: ReplaceArgs((a[0] + 1,)))
    hook(double, post=lambda i, a, k, r: ReturnValue((a, r)))
    assert run(double(1)) == ((2,), 4)
    hook(double, pre=lambda i, a, k: ReturnValue("short"), priority=-1)
    assert run(double(1)) == "short"
