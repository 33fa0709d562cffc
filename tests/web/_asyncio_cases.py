"""Asyncio scenarios (Python 3 syntax, imported only on 3.7+)."""
import asyncio

from sqreen import _request


def tasks_isolated():
    """Two tasks activate their own request, interleave, and each reads back its own."""

    async def task(name, mine_set, other_set):
        _request.activate(name)
        mine_set.set()
        await other_set.wait()
        return _request.current()

    async def main():
        a_set, b_set = asyncio.Event(), asyncio.Event()
        results = await asyncio.gather(task("a", a_set, b_set), task("b", b_set, a_set))
        assert _request.current() is None
        return list(results)

    loop = asyncio.new_event_loop()  # not asyncio.run: this runs on 3.6 too
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()
