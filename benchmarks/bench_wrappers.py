"""Cost of a call through the wrapper mechanism, next to wrapt's C FunctionWrapper and a plain closure.

One command, one table::

    python benchmarks/bench_wrappers.py            # pyperf when installed, else the timeit harness
    python benchmarks/bench_wrappers.py --timeit   # force the timeit harness (e.g. to compare with 2.7)

Rows: for a plain function, a bound method and a C function (``len``): the
bare call; our wrapper with a hook point that has no callbacks, with a pre
callback, with pre and post; wrapt's ``FunctionWrapper`` (C extension when
available) running the same two callbacks; a plain closure decorator doing
the same; and, to show the wrapper's own share, the hook point's dispatch
(``HookPoint.call``) called directly. The timeit harness interleaves the rows round after round and
reports the median, so a slow patch of the machine hits every row alike.
Extra arguments go to pyperf (e.g. ``--fast``, ``--rigorous``, ``-o out.json``).
"""
from __future__ import print_function

import functools
import os
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import wrapt  # noqa: E402

from sqreen.instrumentation._hookpoint import HookPoint  # noqa: E402
from sqreen.instrumentation import _wrappers  # noqa: E402

UNROLL = 10  # calls per loop iteration, to keep the loop's own cost small


def pre(instance, args, kwargs):
    return None


def post(instance, args, kwargs, result):
    return None


def function(x):
    return x


def make_class():
    class Service(object):
        def method(self, x):
            return x

    return Service


def hookpoint(callbacks):
    hp = HookPoint("bench")
    if callbacks == "pre":
        hp.add(pre=pre)
    elif callbacks == "pre+post":
        hp.add(pre=pre, post=post)
    return hp


def wrapt_wrapper(wrapped, instance, args, kwargs):
    pre(instance, args, kwargs)
    result = wrapped(*args, **kwargs)
    post(instance, args, kwargs, result)
    return result


def closure_decorator(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        pre(None, args, kwargs)
        result = func(*args, **kwargs)
        post(None, args, kwargs, result)
        return result

    return wrapper


VARIANTS = [
    "bare", "ours: no callbacks", "ours: pre", "ours: pre+post", "hookpoint.call alone: pre+post",
    "wrapt C: pre+post", "closure: pre+post",
]
TARGETS = ["function", "bound method", "C function (len)"]


def setup(target, variant):
    """Return ``(call expression, f, a, b, obj)``: the call to time and the names it uses."""
    callbacks = variant.split(": ")[-1]
    if variant.startswith("hookpoint.call"):  # the dispatch the wrapper calls, without the wrapper
        if target == "bound method":
            obj = make_class()()
            return "f(a, obj, (1,), {})", hookpoint(callbacks).call, obj.method, None, obj
        func, arg = (function, 1) if target == "function" else (len, (1,))
        return "f(a, None, (b,), {})", hookpoint(callbacks).call, func, arg, None
    if target == "bound method":
        cls = make_class()
        if variant.startswith("ours"):
            _wrappers.install(cls, "method", hookpoint(callbacks))
        elif variant.startswith("wrapt"):
            cls.method = wrapt.FunctionWrapper(vars(cls)["method"], wrapt_wrapper)
        elif variant.startswith("closure"):
            cls.method = closure_decorator(vars(cls)["method"])
        return "obj.method(1)", None, None, None, cls()  # the attribute lookup (binding) is part of the cost
    func, arg = (function, 1) if target == "function" else (len, (1,))
    if variant.startswith("ours"):
        func = _wrappers.wrap(func, hookpoint(callbacks))
    elif variant.startswith("wrapt"):
        func = wrapt.FunctionWrapper(func, wrapt_wrapper)
    elif variant.startswith("closure"):
        func = closure_decorator(func)
    return "f(a)", func, arg, None, None


def time_loop(target, variant):
    """Return ``run(loops) -> seconds`` for one row: a loop with the call unrolled UNROLL times."""
    call, f, a, b, obj = setup(target, variant)
    source = "\n".join(["def loop(n, f, a, b, obj, clock):", "    t0 = clock()", "    for _ in range(n):"]
                       + ["        " + call] * UNROLL + ["    return clock() - t0"])
    namespace = {"range": getattr(__builtins__, "xrange", range)} if sys.version_info[0] == 2 else {}
    exec(source, namespace)
    loop = namespace["loop"]
    clock = timeit.default_timer
    return lambda loops: loop(loops, f, a, b, obj, clock)


def rows():
    for target in TARGETS:
        for variant in VARIANTS:
            yield "%s | %s" % (target, variant), target, variant


def print_table(results):
    """``results``: {row name: ns per call}."""
    print()
    print("%-18s %-31s %10s %12s" % ("target", "variant", "ns/call", "over bare"))
    for name, target, variant in rows():
        ns = results[name]
        bare = results["%s | bare" % target]
        over = "" if variant == "bare" else "%+.1f" % (ns - bare)
        print("%-18s %-31s %10.1f %12s" % (target, variant, ns, over))
    print("\nPython %s, wrapt %s (%s)" % (sys.version.split()[0], wrapt.__version__, wrapt_kind()))


def wrapt_kind():
    """A C type's __call__ is a slot wrapper, a Python class's a function."""
    return "pure Python" if "function" in type(wrapt.FunctionWrapper.__call__).__name__ else "C extension"


def run_timeit(rounds=25, target_seconds=0.01):
    timers = [(name, time_loop(target, variant)) for name, target, variant in rows()]
    loops = {}
    for name, run in timers:  # calibrate: enough loops for ~target_seconds per sample
        n = 100
        while run(n) < target_seconds:
            n *= 2
        loops[name] = n
    samples = dict((name, []) for name, _ in timers)
    for _ in range(rounds):
        for name, run in timers:
            samples[name].append(run(loops[name]) / (loops[name] * UNROLL) * 1e9)
    results = {}
    for name, values in samples.items():
        values.sort()
        results[name] = values[len(values) // 2]
    print("timeit harness: %d interleaved rounds, median" % rounds)
    print_table(results)


def run_pyperf():
    import pyperf

    runner = pyperf.Runner()
    results = {}
    for name, target, variant in rows():
        bench = runner.bench_time_func(name, time_loop(target, variant), inner_loops=UNROLL)
        if bench is not None and not runner.args.worker:
            results[name] = bench.median() * 1e9
    if not runner.args.worker and len(results) == len(list(rows())):
        print_table(results)


def main():
    if "--timeit" in sys.argv:
        sys.argv.remove("--timeit")
        return run_timeit()
    try:
        import pyperf  # noqa: F401
    except ImportError:
        return run_timeit()
    return run_pyperf()


if __name__ == "__main__":
    main()
