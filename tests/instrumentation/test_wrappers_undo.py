"""Unwrapping restores the target exactly, whatever was stacked on it and in whatever order."""
import functools

import pytest

from sqreen.instrumentation import _wrappers
from tests.instrumentation.test_wrappers_support import Recorder


def make_class():
    class Base(object):
        def method(self, x):
            return ("base", x)

        @classmethod
        def build(cls):
            return cls

        @staticmethod
        def helper(x):
            return x * 2

    class Sub(Base):
        pass

    return Base, Sub


def call_all(cls):
    obj = cls()
    return obj.method(1), cls.build(), cls.helper(2), cls.method(obj, 3)


@pytest.mark.parametrize("name", ["method", "build", "helper"])
def test_undo_puts_back_the_original_descriptor(name):
    Base, _ = make_class()
    original = Base.__dict__[name]
    hp = Recorder()
    undo = _wrappers.install(Base, name, hp)
    assert Base.__dict__[name] is not original
    assert type(Base.__dict__[name]) is type(original)
    before = len(hp.calls)
    call_all(Base)
    assert len(hp.calls) > before
    undo()
    assert Base.__dict__[name] is original
    assert call_all(Base) == (("base", 1), Base, 4, ("base", 3))


def test_undo_of_an_inherited_method_leaves_no_attribute():
    Base, Sub = make_class()
    undo = _wrappers.install(Sub, "method", Recorder())
    assert "method" in Sub.__dict__
    undo()
    assert "method" not in Sub.__dict__
    assert Sub().method(1) == ("base", 1)


def test_undo_twice_does_nothing():
    Base, _ = make_class()
    original = Base.__dict__["method"]
    undo = _wrappers.install(Base, "method", Recorder())
    undo()
    Base.method = replacement = lambda self, x: "replaced"
    undo()
    assert Base.__dict__["method"] is replacement
    assert original is not replacement


def test_removed_wrapper_held_elsewhere_stops_hooking():
    Base, _ = make_class()
    hp = Recorder()
    undo = _wrappers.install(Base, "method", hp)
    kept = Base().method  # a bound wrapper someone held on to
    undo()
    assert kept(5) == ("base", 5)
    assert hp.calls == []


class TestOurStack(object):
    @pytest.mark.parametrize("name", ["method", "build", "helper"])
    def test_remove_lower_layer_first(self, name):
        Base, _ = make_class()
        original = Base.__dict__[name]
        a, b = Recorder(), Recorder()
        undo_a = _wrappers.install(Base, name, a)
        undo_b = _wrappers.install(Base, name, b)
        call_all(Base)
        assert len(a.calls) == len(b.calls) > 0
        undo_a()
        seen_a, seen_b = len(a.calls), len(b.calls)
        assert call_all(Base) == (("base", 1), Base, 4, ("base", 3))
        assert len(a.calls) == seen_a
        assert len(b.calls) > seen_b
        undo_b()
        assert Base.__dict__[name] is original

    def test_remove_upper_layer_first(self):
        Base, _ = make_class()
        original = Base.__dict__["method"]
        a, b = Recorder(), Recorder()
        undo_a = _wrappers.install(Base, "method", a)
        undo_b = _wrappers.install(Base, "method", b)
        undo_b()
        Base().method(1)
        assert (len(a.calls), len(b.calls)) == (1, 0)
        undo_a()
        assert Base.__dict__["method"] is original

    def test_three_layers_middle_removed(self):
        Base, _ = make_class()
        original = Base.__dict__["method"]
        hps = [Recorder() for _ in range(3)]
        undos = [_wrappers.install(Base, "method", hp) for hp in hps]
        undos[1]()
        assert Base().method(2) == ("base", 2)
        assert [len(hp.calls) for hp in hps] == [1, 0, 1]
        undos[0]()
        undos[2]()
        assert Base.__dict__["method"] is original

    def test_inherited_layer_under_a_subclass_layer(self):
        Base, Sub = make_class()
        on_base, on_sub = Recorder(), Recorder()
        undo_base = _wrappers.install(Base, "method", on_base)
        undo_sub = _wrappers.install(Sub, "method", on_sub)
        undo_base()
        Sub().method(1)
        assert (len(on_base.calls), len(on_sub.calls)) == (0, 1)
        undo_sub()
        assert "method" not in Sub.__dict__


def foreign_decorator(func, log):
    """Someone else's wrapper: a plain functools.wraps closure, unaware of ours."""

    @functools.wraps(func)
    def theirs(*args, **kwargs):
        log.append(args)
        return func(*args, **kwargs)

    return theirs


class TestForeignOnTop(object):
    def test_our_layer_is_switched_off_then_leaves_when_back_on_top(self):
        Base, _ = make_class()
        original = Base.__dict__["method"]
        ours, log = Recorder(), []
        undo = _wrappers.install(Base, "method", ours)
        ours_installed = Base.__dict__["method"]
        Base.method = foreign_decorator(ours_installed, log)
        undo()  # theirs is on top: ours switches off instead of breaking theirs
        assert Base.__dict__["method"] is not original
        assert Base().method(1) == ("base", 1)
        assert len(log) == 1 and ours.calls == []
        Base.method = ours_installed  # they unwrap themselves
        assert Base().method(2) == ("base", 2)  # the switched-off layer finds itself on top and leaves
        assert Base.__dict__["method"] is original
        assert ours.calls == []

    def test_new_layer_replaces_a_switched_off_one(self):
        Base, _ = make_class()
        original = Base.__dict__["method"]
        undo_old = _wrappers.install(Base, "method", Recorder())
        old = Base.__dict__["method"]
        Base.method = foreign_decorator(old, [])
        undo_old()
        Base.method = old
        hp = Recorder()
        undo_new = _wrappers.install(Base, "method", hp)
        assert Base.__dict__["method"].__wrapped__ is original
        Base().method(3)
        assert len(hp.calls) == 1
        undo_new()
        assert Base.__dict__["method"] is original

    def test_foreign_under_ours(self):
        Base, _ = make_class()
        log = []
        theirs = Base.method = foreign_decorator(Base.__dict__["method"], log)
        hp = Recorder()
        undo = _wrappers.install(Base, "method", hp)
        obj = Base()
        assert obj.method(4) == ("base", 4)
        assert log == [(obj, 4)] and hp.instances == [obj]
        undo()
        assert Base.__dict__["method"] is theirs


def test_module_attribute_stack():
    import types

    module = types.ModuleType("stacked")
    module.f = original = lambda x: x + 1
    a, b = Recorder(), Recorder()
    undo_a = _wrappers.install(module, "f", a)
    undo_b = _wrappers.install(module, "f", b)
    undo_a()
    assert module.f(1) == 2
    assert (len(a.calls), len(b.calls)) == (0, 1)
    assert module.f.__wrapped__ is original
    undo_b()
    assert module.f is original
