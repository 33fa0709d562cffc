"""Per-request time budget for the agent's interruptible callbacks.

The request layer opens a budget when a request starts and closes it when
the request ends. While a budget is open, the dispatch measures the time
spent inside callbacks and, once the budget is spent, skips the callbacks
marked interruptible (monitoring that the request can live without) and
counts each skip. Blocking and bookkeeping callbacks are never skipped.

The budget lives in a context variable on Python 3.7+ (so concurrent
asyncio tasks each have their own) and in a thread-local on older Pythons.
When no budget was ever opened the dispatch does not even look it up, and
when none is open for the current request nothing is timed.
"""
import time

from .. import _context, _log

clock = getattr(time, "perf_counter", time.time)

SKIP_COUNTER = "instrumentation.budget_skip"

# Flipped by the first start(): until then the dispatch skips the lookup.
enabled = False


class Budget(object):
    """The time (seconds) one request may spend inside the agent."""

    __slots__ = ("limit", "spent", "skipped")

    def __init__(self, limit):
        self.limit = limit
        self.spent = 0.0
        self.skipped = 0

    def exhausted(self, since):
        """True once ``spent`` plus the time since ``since`` (a ``clock()`` value) reaches the limit."""
        return self.spent + (clock() - since) >= self.limit

    def skip(self):
        """Record that an interruptible callback was skipped; return None."""
        self.skipped += 1
        _log.count(SKIP_COUNTER)


#: ``current()`` is the current request's budget (None when none is open).
current, _set = _context.slot("budget")


def start(ms):
    """Open a budget of ``ms`` milliseconds for the current request; return it."""
    global enabled
    budget = Budget(float(ms) / 1000.0)
    _set(budget)
    enabled = True
    return budget


def stop():
    """Close the current request's budget; return it (None if none was open)."""
    budget = current()
    if budget is not None:
        _set(None)
    return budget


def spent():
    """Milliseconds the current request has spent inside the agent (0.0 if no budget)."""
    budget = current()
    return 0.0 if budget is None else budget.spent * 1000.0
