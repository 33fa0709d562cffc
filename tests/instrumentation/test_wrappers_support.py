"""Test doubles shared by the wrapper-mechanism tests (no tests here).

``Recorder`` stands in for ``HookPoint``: it keeps the contract the wrapper
mechanism relies on (``active`` and ``call(wrapped, instance, args, kwargs)``)
and records what it saw, so these tests check the mechanism alone.
"""
import sys
import types


class Recorder(object):
    """A hook point that records each call and runs optional ``pre`` / ``post`` callables."""

    def __init__(self, active=True, pre=None, post=None):
        self.active = active
        self.pre = pre
        self.post = post
        self.calls = []  # (wrapped, instance, args, kwargs); list.append is atomic

    def call(self, wrapped, instance, args, kwargs):
        self.calls.append((wrapped, instance, args, dict(kwargs)))
        if self.pre is not None:
            self.pre(instance, args, kwargs)
        result = wrapped(*args, **kwargs)
        if self.post is not None:
            self.post(instance, args, kwargs, result)
        return result

    @property
    def instances(self):
        return [c[1] for c in self.calls]

    @property
    def arguments(self):
        return [(c[2], c[3]) for c in self.calls]


def make_module(name, source):
    """Create (and register) a real module ``name`` from ``source``, so pickling by reference works."""
    module = types.ModuleType(name)
    module.__dict__["__name__"] = name
    exec(compile(source, "<%s>" % name, "exec"), module.__dict__)
    sys.modules[name] = module
    return module
