"""Per-request values that follow the request: its thread, and its asyncio task.

A context variable on Python 3.7+ (each thread and each asyncio task sees
its own, and tasks a request spawns inherit it); a thread-local on 2.7 and
3.6, where asyncio tasks of one thread share it.
"""
import sys
import threading

if sys.version_info >= (3, 7):
    import contextvars
else:  # the PyPI backport on 3.6 is pure Python (slow on every hooked call) and unknown to asyncio
    contextvars = None


def slot(name):
    """A ``(get, set)`` pair for one per-context value, None until set."""
    if contextvars is not None:
        var = contextvars.ContextVar("sqreen_" + name, default=None)
        return var.get, var.set
    local = threading.local()

    def get():
        return getattr(local, "value", None)

    def set_(value):
        local.value = value

    return get, set_
