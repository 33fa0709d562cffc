"""Other libraries' wrappers on the same target as ours, applied before or after, removed in either order.

"Theirs" comes in three styles: the real ``wrapt`` (``wrap_function_wrapper``
and a bare ``FunctionWrapper``), an OpenTelemetry-style instrumentor built on
wrapt, and a New-Relic-style object wrapper. Each removes itself the way
such tools do: only when the attribute on top is its own wrapper (OTel's
``unwrap``); otherwise its removal does nothing, which is their limitation,
and it succeeds once retried after ours has gone.
"""
import sys
import textwrap

import pytest
import wrapt

from sqreen.instrumentation import _wrappers
from tests.instrumentation.test_wrappers_support import Recorder, make_module

SOURCE = textwrap.dedent(
    """
    class Service(object):
        def method(self, x):
            return ("method", x)

        @classmethod
        def make(cls, x):
            return (cls.__name__, x)

    def function(x):
        return ("function", x)
    """
)

_counter = [0]


def _remove_if_on_top(owner, name, kind):
    """Put back what the wrapper on top wrapped, if that wrapper is of ``kind`` (like OTel's unwrap)."""
    raw = vars(owner).get(name)
    if isinstance(raw, kind):
        setattr(owner, name, raw.__wrapped__)
        return True
    return False


class WraptFunctionWrapper(object):
    """wrapt.wrap_function_wrapper, as most instrumentation libraries use it."""

    def __init__(self, log):
        self.log = log

    def wrapper(self, wrapped, instance, args, kwargs):
        self.log.append((instance, args))
        return wrapped(*args, **kwargs)

    def apply(self, module, path):
        wrapt.wrap_function_wrapper(module, path, self.wrapper)

    def remove(self, owner, name):
        return _remove_if_on_top(owner, name, wrapt.FunctionWrapper)


class OTelStyleInstrumentor(WraptFunctionWrapper):
    """An OpenTelemetry-style instrumentor: instrument() / uninstrument() over wrapt, with its own switch."""

    def __init__(self, log):
        WraptFunctionWrapper.__init__(self, log)
        self.instrumented = False

    def wrapper(self, wrapped, instance, args, kwargs):
        if not self.instrumented:
            return wrapped(*args, **kwargs)
        return WraptFunctionWrapper.wrapper(self, wrapped, instance, args, kwargs)

    def apply(self, module, path):
        self.instrumented = True
        WraptFunctionWrapper.apply(self, module, path)

    def remove(self, owner, name):
        self.instrumented = False  # what OTel's BaseInstrumentor.uninstrument does first
        return WraptFunctionWrapper.remove(self, owner, name)


class NRObjectWrapper(object):
    """A New-Relic-style object wrapper: binds through the wrapped descriptor, forwards attributes."""

    def __init__(self, wrapped, log, instance=None):
        self.__wrapped__ = wrapped
        self._nr_log = log
        self._nr_instance = instance

    def __get__(self, instance, owner):
        get = getattr(type(self.__wrapped__), "__get__", None)
        if get is None:
            return self
        return NRObjectWrapper(get(self.__wrapped__, instance, owner), self._nr_log, instance)

    def __call__(self, *args, **kwargs):
        self._nr_log.append((self._nr_instance, args))
        return self.__wrapped__(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.__wrapped__, name)


class NewRelicStyle(object):
    def __init__(self, log):
        self.log = log

    def apply(self, module, path):
        owner = module
        for part in path.split(".")[:-1]:
            owner = getattr(owner, part)
        name = path.split(".")[-1]
        setattr(owner, name, NRObjectWrapper(vars(owner)[name], self.log))

    def remove(self, owner, name):
        return _remove_if_on_top(owner, name, NRObjectWrapper)


STYLES = {"wrapt": WraptFunctionWrapper, "otel": OTelStyleInstrumentor, "newrelic": NewRelicStyle}


@pytest.fixture
def mod():
    _counter[0] += 1
    name = "sqreen_interop_target_%d" % _counter[0]
    yield make_module(name, SOURCE)
    sys.modules.pop(name, None)


def _target(mod, which):
    """(owner, name, call, expected instance, expected result)."""
    if which == "function":
        return mod, "function", lambda: mod.function(1), None, ("function", 1)
    obj = mod.Service()
    if which == "method":
        return mod.Service, "method", lambda: obj.method(1), obj, ("method", 1)
    if which == "method-via-class":
        return mod.Service, "method", lambda: mod.Service.method(obj, 1), obj, ("method", 1)
    return mod.Service, "make", lambda: mod.Service.make(1), mod.Service, ("Service", 1)


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("which", ["function", "method", "method-via-class", "classmethod"])
@pytest.mark.parametrize("ours_first", [True, False], ids=["ours-below", "ours-on-top"])
@pytest.mark.parametrize("remove_ours_first", [True, False], ids=["remove-ours-first", "remove-theirs-first"])
def test_both_wrappers_run_and_unwind(mod, style, which, ours_first, remove_ours_first):
    owner, name, call, instance, result = _target(mod, which)
    path = name if owner is mod else "Service." + name
    original = vars(owner)[name]
    log, ours = [], Recorder()
    theirs = STYLES[style](log)
    if ours_first:
        undo = _wrappers.install(owner, name, ours)
        theirs.apply(mod, path)
    else:
        theirs.apply(mod, path)
        undo = _wrappers.install(owner, name, ours)

    assert call() == result
    assert ours.instances == [instance]
    assert ours.arguments == [((1,), {})]
    assert len(log) == 1
    if style != "newrelic":  # the NR-style wrapper has its own idea of the instance
        assert log[0][0] is instance

    if remove_ours_first:
        undo()
        assert call() == result
        assert len(ours.calls) == 1 and len(log) == 2
        assert theirs.remove(owner, name)
    else:
        removed = theirs.remove(owner, name)
        # Theirs cannot leave while ours is on top of it (its removal does nothing);
        # the OTel-style one has at least switched itself off.
        assert removed == ours_first
        assert call() == result
        assert len(ours.calls) == 2
        expected_log = 2 if (not removed and style != "otel") else 1
        assert len(log) == expected_log
        undo()
        if not removed:
            assert theirs.remove(owner, name)

    assert call() == result  # a switched-off layer of ours, back on top, leaves on this call
    assert vars(owner)[name] is original
    calls_ours, calls_theirs = len(ours.calls), len(log)
    assert call() == result
    assert (len(ours.calls), len(log)) == (calls_ours, calls_theirs)


def test_bare_function_wrapper_around_our_wrapper(mod):
    """wrapt.FunctionWrapper applied by hand to our installed method, e.g. by a decorator-based tool."""
    ours, seen = Recorder(), []

    def theirs(wrapped, instance, args, kwargs):
        seen.append(instance)
        return wrapped(*args, **kwargs)

    undo = _wrappers.install(mod.Service, "method", ours)
    ours_installed = vars(mod.Service)["method"]
    mod.Service.method = wrapt.FunctionWrapper(ours_installed, theirs)
    obj = mod.Service()
    assert obj.method(2) == ("method", 2)
    assert mod.Service.method(obj, 3) == ("method", 3)
    assert seen == [obj, obj]
    assert ours.instances == [obj, obj]
    undo()
    assert obj.method(4) == ("method", 4)
    assert len(ours.calls) == 2 and len(seen) == 3


def test_wrapt_proxy_under_ours_keeps_its_attributes(mod):
    theirs = WraptFunctionWrapper([])
    theirs.apply(mod, "function")
    _wrappers.install(mod, "function", Recorder())
    assert isinstance(mod.function.__wrapped__, wrapt.FunctionWrapper)
    assert mod.function.__name__ == "function"
    assert mod.function.__wrapped__.__wrapped__.__name__ == "function"
