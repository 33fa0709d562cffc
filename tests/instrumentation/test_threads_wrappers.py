"""Hooking and unhooking while other threads call the target: no crash, no lost or doubled call."""
import itertools
import os
import sys
import threading

import pytest

from sqreen.instrumentation import _wrappers, hook
from tests.helpers import run_python
from tests.instrumentation.test_wrappers_support import Recorder

CALLERS = 4
CALLS_EACH = 3000


@pytest.fixture(autouse=True)
def frequent_switches():
    """Make the GIL change hands often so that swaps land in the middle of calls."""
    if hasattr(sys, "setswitchinterval"):
        previous = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        yield
        sys.setswitchinterval(previous)
    else:
        previous = sys.getcheckinterval()
        sys.setcheckinterval(1)
        yield
        sys.setcheckinterval(previous)


class Target(object):
    """Counts the calls that really reach the original code."""

    def __init__(self):
        self.counter = itertools.count()

    def method(self, x):
        next(self.counter)
        return x + 1

    def reached(self):
        return next(self.counter)  # itertools.count: one atomic step per call


class CallableTarget(object):
    def __init__(self):
        self.counter = itertools.count()

    def __call__(self, x):
        next(self.counter)
        return x + 1


def run_callers(call, go):
    """Start the caller threads, which wait for ``go``; return (threads, errors, done event)."""
    errors = []
    done = threading.Event()
    finished = []

    def caller():
        go.wait(60)
        try:
            for i in range(CALLS_EACH):
                if call(i) != i + 1:
                    errors.append("wrong result for %d" % i)
        except BaseException as exc:  # any crash is a test failure, reported below
            errors.append(repr(exc))
        finally:
            finished.append(1)
            if len(finished) == CALLERS:
                done.set()

    threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    return threads, errors, done


def churn(done, install, seen, go):
    """Install and undo until the callers are done; each cycle waits to see at least one hooked call.

    The first install happens before the callers are let ``go``, so at least
    one cycle overlaps them.
    """
    cycles = 0
    while cycles == 0 or not done.is_set():
        undo = install()
        go.set()
        before = seen()
        while seen() == before and not done.is_set():
            done.wait(0.0005)
        undo()
        cycles += 1
    return cycles


def check(threads, errors, reached, hooked_calls, cycles):
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    assert errors == []
    assert reached == CALLERS * CALLS_EACH  # every call reached the original exactly once
    assert 0 < hooked_calls <= reached
    assert cycles > 0


def test_module_function_hooked_and_unhooked_under_calls():
    target = Target()
    holder = type(sys)("threads_holder")
    holder.f = lambda x: target.method(x)
    original = holder.f
    hp, go = Recorder(), threading.Event()
    threads, errors, done = run_callers(lambda i: holder.f(i), go)
    cycles = churn(done, lambda: _wrappers.install(holder, "f", hp), lambda: len(hp.calls), go)
    check(threads, errors, target.reached(), len(hp.calls), cycles)
    assert holder.f is original


def test_method_hooked_and_unhooked_under_calls():
    class Local(Target):
        pass

    obj, go = Local(), threading.Event()
    hp = Recorder()
    threads, errors, done = run_callers(lambda i: obj.method(i), go)
    cycles = churn(done, lambda: _wrappers.install(Local, "method", hp), lambda: len(hp.calls), go)
    check(threads, errors, obj.reached(), len(hp.calls), cycles)
    assert "method" not in Local.__dict__
    assert all(instance is obj for instance in hp.instances)


def test_callable_object_hooked_and_unhooked_under_calls():
    holder = type(sys)("threads_holder")
    holder.c = original = CallableTarget()
    hp, go = Recorder(), threading.Event()
    threads, errors, done = run_callers(lambda i: holder.c(i), go)
    cycles = churn(done, lambda: _wrappers.install(holder, "c", hp), lambda: len(hp.calls), go)
    check(threads, errors, next(original.counter), len(hp.calls), cycles)
    assert holder.c is original


def test_two_hookers_stack_and_unstack_concurrently():
    """Two threads each install and undo their own layer on one target while others call it."""
    target = Target()
    holder = type(sys)("threads_holder")
    holder.f = original = target.method
    hps, go = [Recorder(), Recorder()], threading.Event()
    threads, errors, done = run_callers(lambda i: holder.f(i), go)
    cycles = [0, 0]

    def hooker(k):
        cycles[k] = churn(done, lambda: _wrappers.install(holder, "f", hps[k]), lambda: len(hps[k].calls), go)

    hookers = [threading.Thread(target=hooker, args=(k,)) for k in (0, 1)]
    for thread in hookers:
        thread.start()
    for thread in hookers:
        thread.join(60)
    check(threads, errors, target.reached(), len(hps[0].calls), min(cycles))
    assert len(hps[1].calls) <= CALLERS * CALLS_EACH
    assert holder.f is original


def test_public_hook_api_with_wrapper_mechanism_under_calls():
    class Service(Target):
        pass

    obj, go = Service(), threading.Event()
    seen = []  # list.append is atomic
    threads, errors, done = run_callers(lambda i: obj.method(i), go)
    cycles = churn(
        done,
        lambda: hook((Service, "method"), pre=lambda instance, args, kwargs: seen.append(instance),
                     mechanism="wrapper").remove,
        lambda: len(seen),
        go,
    )
    check(threads, errors, obj.reached(), len(seen), cycles)
    assert all(instance is obj for instance in seen)
    assert "method" not in Service.__dict__


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_install_in_a_child_forked_while_another_thread_held_the_lock():
    _, out, _ = run_python(
        """
        import os, signal, threading, types
        from sqreen.instrumentation import _wrappers

        held, release = threading.Event(), threading.Event()

        def holder():
            with _wrappers.locked():
                held.set()
                release.wait()

        thread = threading.Thread(target=holder)
        thread.daemon = True
        thread.start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            signal.alarm(20)  # deadlock guard: a hung child dies and the test fails
            module = types.ModuleType("m")
            module.f = lambda: 1

            class Inactive(object):
                active = False

            _wrappers.install(module, "f", Inactive())()
            os._exit(0 if module.f() == 1 else 3)
        release.set()
        print(os.waitpid(pid, 0)[1])
        """
    )
    assert out.strip() == "0"
