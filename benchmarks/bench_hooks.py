"""Cost of a hooked call, side by side with a bare call and other ways to wrap it.

Run (pyperf installed in the interpreter's environment; ddtrace and wrapt
optional, their rows are skipped with a message when missing)::

    python benchmarks/bench_hooks.py --fast            # every row, about 5 minutes
    python benchmarks/bench_hooks.py --fast --kinds function,method

Rows, for a plain function, a bound method, a function that raises, a
generator (created and drained) and a coroutine (created and run to the
end without suspending): the bare call; our hook once all its callbacks
are removed; a no-op pre; a no-op pre + post through the real dispatch
(the injection mechanism, and the wrapper mechanism where it exists); the
same pre + post with a request budget open; the same two callbacks through
a plain closure decorator, wrapt's ``FunctionWrapper`` and dd-trace-py's
``ddtrace.internal.wrapping.wrap``. The table printed at the end gives the
mean ns per call, the ratio to the bare call and the ns added over it.

Loops are timed with the thread's CPU clock (``time.thread_time``) so that
other work on a shared machine does not inflate the figures; ``--wall``
times them with ``time.perf_counter`` instead. pyperf's own options apply
(``--fast``, ``--rigorous``, ``-o result.json``...).
"""
import itertools
import os
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pyperf  # noqa: E402

from sqreen.instrumentation import budget, hook  # noqa: E402

for _var in ("DD_TRACE_ENABLED", "DD_INSTRUMENTATION_TELEMETRY_ENABLED", "DD_REMOTE_CONFIGURATION_ENABLED"):
    os.environ.setdefault(_var, "false")  # ddtrace: import its wrapping helper, start nothing

SOURCES = {
    "function": "def target(a, b):\n    return a\n",
    "method": "class Target(object):\n    def target(self, a, b):\n        return a\n",
    "raises": "def target(a, b):\n    raise ValueError(a)\n",
    "generator": "def target(a, b):\n    yield a\n",
    "coroutine": "async def target(a, b):\n    return a\n",
}
KINDS = list(SOURCES)


def pre(instance, args, kwargs):
    pass


def post(instance, args, kwargs, result):
    pass


def _fresh(kind):
    """``(owner, call)``: a new target, and how the loop reaches it (the owner holds ``target``)."""
    namespace = {"__name__": "bench_target_%s" % kind}
    exec(SOURCES[kind], namespace)
    if kind == "method":
        return namespace["Target"], None
    owner = types.ModuleType(namespace["__name__"])
    owner.target = namespace["target"]
    return owner, None


def _callable(kind, owner):
    return getattr(owner(), "target") if kind == "method" else owner.target


# -- ways to wrap ---------------------------------------------------------

def _closure(fn):
    def wrapper(*args, **kwargs):
        pre(None, args, kwargs)
        result = fn(*args, **kwargs)
        post(None, args, kwargs, result)
        return result
    return wrapper


def _wrapt_wrapper(wrapped, instance, args, kwargs):
    pre(instance, args, kwargs)
    result = wrapped(*args, **kwargs)
    post(instance, args, kwargs, result)
    return result


def _ddtrace_wrapper(fn, args, kwargs):
    pre(None, args, kwargs)
    result = fn(*args, **kwargs)
    post(None, args, kwargs, result)
    return result


def _set(owner, kind, transform):
    raw = vars(owner)["target"] if kind == "method" else owner.target
    setattr(owner, "target", transform(raw))


def v_bare(kind, owner):
    pass


def v_removed(kind, owner):
    hook((owner, "target"), pre=pre, post=post).remove()


def v_pre(kind, owner):
    hook((owner, "target"), pre=pre)


def v_pre_post(kind, owner):
    hook((owner, "target"), pre=pre, post=post)


def v_wrapper_pre_post(kind, owner):
    hook((owner, "target"), pre=pre, post=post, mechanism="wrapper")


def v_closure(kind, owner):
    _set(owner, kind, _closure)


def v_wrapt(kind, owner):
    import wrapt

    _set(owner, kind, lambda fn: wrapt.FunctionWrapper(fn, _wrapt_wrapper))


def v_ddtrace(kind, owner):
    from ddtrace.internal.wrapping import wrap

    raw = vars(owner)["target"] if kind == "method" else owner.target
    wrap(raw, _ddtrace_wrapper)


# "hook: pre+post, budget open" measures requests whose budget is open (and never spent).
VARIANTS = [
    ("bare", v_bare),
    ("hook, callbacks removed", v_removed),
    ("hook: pre", v_pre),
    ("hook: pre+post", v_pre_post),
    ("hook: pre+post, budget open", v_pre_post),
    ("hook (wrapper): pre+post", v_wrapper_pre_post),
    ("closure: pre+post", v_closure),
    ("wrapt FunctionWrapper: pre+post", v_wrapt),
    ("ddtrace wrap: pre+post", v_ddtrace),
]


def unavailable(variant, kind):
    """Why the row cannot run here, or None."""
    try:
        if variant.startswith("wrapt"):
            import wrapt  # noqa: F401
        elif variant.startswith("ddtrace"):
            import ddtrace.internal.wrapping  # noqa: F401
        elif "(wrapper)" in variant:
            import sqreen.instrumentation._wrappers  # noqa: F401
    except ImportError as exc:
        return "not installed (%s)" % exc
    if variant.startswith("hook") and "wrapper" not in variant and sys.version_info < (3, 6):
        return "no code injection on this Python"
    if kind == "coroutine" and sys.version_info < (3, 5):
        return "no coroutines"
    return None


# -- loops ------------------------------------------------------------------

def loop_call(loops, fn):
    start = clock()
    for _ in itertools.repeat(None, loops):
        fn(1, 2)
    return clock() - start


def loop_raises(loops, fn):
    start = clock()
    for _ in itertools.repeat(None, loops):
        try:
            fn(1, 2)
        except ValueError:
            pass
    return clock() - start


def loop_generator(loops, fn):
    start = clock()
    for _ in itertools.repeat(None, loops):
        for _ in fn(1, 2):
            pass
    return clock() - start


def loop_coroutine(loops, fn):
    start = clock()
    for _ in itertools.repeat(None, loops):
        try:
            fn(1, 2).send(None)
        except StopIteration:
            pass
    return clock() - start


def clock():
    return _clock()


_clock = getattr(time, "thread_time", time.perf_counter)

LOOPS = {"function": loop_call, "method": loop_call, "raises": loop_raises, "generator": loop_generator,
         "coroutine": loop_coroutine}
_built = {}


def make_timer(kind, variant, install):
    def timer(loops):
        fn = _built.get((kind, variant))
        if fn is None:
            owner, _ = _fresh(kind)
            install(kind, owner)
            fn = _built[(kind, variant)] = _callable(kind, owner)
        opened = budget.start(1e9) if "budget open" in variant else None
        try:
            return LOOPS[kind](loops, fn)
        finally:
            if opened is not None:
                budget.stop()
    return timer


def main():
    runner = pyperf.Runner(add_cmdline_args=_forward_args)
    runner.argparser.add_argument("--kinds", default=",".join(KINDS),
                                  help="comma-separated: " + ", ".join(KINDS))
    runner.argparser.add_argument("--wall", action="store_true",
                                  help="time with the wall clock instead of this thread's CPU time")
    args = runner.parse_args()
    if args.wall:
        global _clock
        _clock = time.perf_counter
    kinds = [k for k in args.kinds.split(",") if k]
    results = []
    for kind in kinds:
        for variant, install in VARIANTS:
            reason = unavailable(variant, kind)
            if reason is not None:
                if not args.worker:
                    print("skip %s / %s: %s" % (kind, variant, reason))
                continue
            bench = runner.bench_time_func("%s / %s" % (kind, variant), make_timer(kind, variant, install))
            if bench is not None and not args.worker:
                results.append((kind, variant, bench.mean() * 1e9))
    if results and not args.worker:
        print_table(results)


def _forward_args(cmd, args):
    """Workers must build the same rows in the same order."""
    cmd.extend(["--kinds", args.kinds])
    if args.wall:
        cmd.append("--wall")


def print_table(results):
    print()
    print("Python %s" % sys.version.split()[0])
    print("%-10s %-34s %10s %8s %10s" % ("target", "row", "ns/call", "x bare", "added ns"))
    bare = dict((kind, ns) for kind, variant, ns in results if variant == "bare")
    for kind, variant, ns in results:
        base = bare.get(kind)
        ratio = "%.2f" % (ns / base) if base else "-"
        added = "%+.0f" % (ns - base) if base else "-"
        print("%-10s %-34s %10.1f %8s %10s" % (kind, variant, ns, ratio, added))


if __name__ == "__main__":
    main()
