"""Per-request time budget for the agent's interruptible callbacks.

The request layer opens a budget when a request starts and closes it when
the request ends. While a budget is open, the dispatch measures the time
spent inside callbacks and, once the budget is spent, skips the callbacks
marked interruptible (monitoring that the request can live without) and
counts each skip. Blocking and bookkeeping callbacks are never skipped.

The budget lives in a context variable on Python 3.7+ (so concurrent
asyncio tasks each have their own) and in a thread-local on older Pythons.
Timing is only worth its clock reads (four per hooked call) when there is
something to skip: until a budget has opened *and* an interruptible
callback has been registered, the generated dispatch has no budget code at
all (the hook points are rebuilt with it then, see ``on_enable``), and
``spent()`` stays 0; the request layer reads ``wanted`` and opens no budget
before. After that, when no budget is open for the current request nothing
is timed.
"""
import time

from .. import _context, _log

clock = getattr(time, "perf_counter", time.time)

SKIP_COUNTER = "instrumentation.budget_skip"

# Flipped once a budget has opened and an interruptible callback exists: until
# then the dispatch has no budget code.
enabled = False
_opened = [False]  # a budget has been started
#: ``[True]`` once an interruptible callback exists: before that a budget would skip nothing, so the
#: request layer opens none (saving each request the budget's bookkeeping).
wanted = [False]

#: Called without arguments when the first budget opens (the hook points
#: then rebuild their dispatch with the budget code in it).
on_enable = []


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
    budget = Budget(float(ms) / 1000.0)
    _set(budget)
    if not enabled:
        _opened[0] = True
        if wanted[0]:
            _enable()
    return budget


def want():
    """Note that an interruptible callback exists: callbacks are timed from now (or the first budget) on."""
    if not enabled:
        wanted[0] = True
        if _opened[0]:
            _enable()


def _enable():
    global enabled
    if enabled:
        return
    enabled = True  # before the rebuild: a hook point built meanwhile sees it
    for listener in list(on_enable):
        try:
            listener()
        except Exception:
            _log.log_once("instrumentation.budget_enable", "sqreen: enabling the time budget failed",
                          exc_info=True)


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
