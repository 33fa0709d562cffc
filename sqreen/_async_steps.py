"""Run a coroutine with some per-thread state set around each of its steps.

State the agent keeps in a thread-local (the current request on Python
3.6, which has no context variables; the "inside agent code" flag) would
leak from one asyncio task to the next at every ``await``: the event loop
runs all of them in one thread. Awaiting ``stepped(coro, enter, leave)``
instead of ``coro`` calls ``enter()`` before each resumption of ``coro``
and ``leave(token)`` (with what ``enter`` returned) when it suspends or
ends, so the state holds only while this coroutine's own code runs.
Tasks the coroutine spawns are not covered.
"""


class stepped(object):
    """An awaitable running ``coro`` step by step between ``enter()`` and ``leave(token)``."""

    __slots__ = ("coro", "enter", "leave")

    def __init__(self, coro, enter, leave):
        self.coro = coro
        self.enter = enter
        self.leave = leave

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        token = self.enter()
        try:
            return self.coro.send(value)
        finally:
            self.leave(token)

    def throw(self, *exc_info):
        token = self.enter()
        try:
            return self.coro.throw(*exc_info)
        finally:
            self.leave(token)

    def close(self):
        token = self.enter()
        try:
            return self.coro.close()
        finally:
            self.leave(token)
