"""Dispatch code specialised for a hook point's current callbacks.

A generic dispatch loops over the callback chains and pays for it on every
call. Callbacks change rarely, so each time they do the hook point writes
straight-line Python for the new set: each callback is called by name, its
errors caught in place, the re-entrancy flag set around each chain, the
time spent in each chain added to the request's budget when one is open.
Until the first budget opens (``_budget.enabled``) the text has no budget
code at all; the hook points are rebuilt then.
Only the rare cases leave it for the generic loops in ``HookPoint``: a
callback returning an action, a failing call with failing callbacks.

The same text serves both mechanisms: the hook point's own ``call`` (the
wrapper mechanism's entry point, and Python 2.7's) and the injected
trampolines, which are the hooked function's own signature around it and
call the original copy directly with the parameters they received.
"""

PREFIX = "_sqreen_"


class Live(object):
    """A trampoline's liveness flag (see ``body``'s ``live``): ``alive`` until retired."""

    __slots__ = ("alive",)

    def __init__(self):
        self.alive = True


def body(chains, instance, args, kwargs, invoke, bound, ref=lambda name: name, resume=None, live=None,
         timed=True):
    """Source lines (unindented) of a dispatch for ``chains`` = (pre, post, failing).

    ``instance``, ``args`` and ``kwargs`` are expressions for the callbacks'
    view of the call; ``invoke`` calls the original with the parameters as
    received; ``bound`` is a callable taking ``(*args, **kwargs)``.
    ``resume`` (an expression of ``at``, ``action``, ``bound`` and ``view``)
    finishes the call when a pre callback returned an action; by default the
    hook point's ``resume``. When ``invoke`` suspends (``yield from`` or
    ``await``: generators and coroutines) the thread and the budget are
    looked up again before the post chain, which may run elsewhere.
    ``live``: the name of a ``Live`` flag, written ``ref(live)``; once it is
    no longer ``alive`` (the code was replaced or removed while someone else
    still holds it), the call goes to ``resume`` with no decision, i.e.
    through the current callbacks.
    Returns ``(lines, objects)``: ``objects`` maps the names the lines use
    to the objects they stand for (besides ``_sqreen_hp``, ``_sqreen_tls``
    ``_sqreen_budget``, ``_sqreen_Exception`` and ``_sqreen_AttributeError``,
    which the caller binds: a module's own ``Exception`` must not matter).
    Callbacks are called by name; other objects are written ``ref(name)``,
    an expression the caller chooses (the trampolines make them constants).
    ``timed``: False leaves out every look-up and use of the budget (no
    budget was ever opened: the callbacks run untimed, none is skipped).
    """
    pre, post, failing = chains
    objects = {}
    view = "%s, _sqreen_args, _sqreen_kwargs" % instance
    hp = ref("_sqreen_hp")
    budget = ref("_sqreen_budget") if timed else None
    if resume is None:
        resume = "%s.resume(%%(at)s, %%(action)s, %%(bound)s, %%(view)s)" % hp
    suspends = "yield" in invoke or "await" in invoke
    lines = _enter(ref) + [
        "if _sqreen_st.busy:",
        "    return " + invoke,
        "_sqreen_args = " + args,
        "_sqreen_kwargs = " + kwargs,
    ] + _budget_lookup(budget)
    if live is not None:
        objects[live] = Live()
        lines += [
            "if not %s.alive:" % ref(live),
            "    return " + resume % dict(at="None", action="None", bound=bound, view=view),
        ]
    if len(pre) == 1 and not (pre[0][1] and timed):
        # One callback, never skipped: one try statement, and what remains after it is a constant.
        name, rest = PREFIX + "pre0", PREFIX + "rest0"
        objects[name], objects[rest] = pre[0][0], (pre[0][0], ())
        lines += _chain_start(budget)[:-1] + _guarded(name, "pre", view, False, ref)
        lines += _chain_end(budget) + [
            "if _sqreen_act is not None:",
            "    return " + resume % dict(at=ref(rest), action="_sqreen_act", bound=bound, view=view),
        ]
    elif pre:
        lines += _chain_start(budget)
        lines += _indent(_pre_levels(pre, view, objects, ref, budget), 1)
        lines += _chain_end(budget) + [
            "if _sqreen_act is not None:",
            "    return " + resume % dict(at="_sqreen_rest", action="_sqreen_act", bound=bound, view=view),
        ]
    if failing:
        lines += [
            "try:",
            "    _sqreen_result = " + invoke,
            "except %s as _sqreen_exc:" % ref("_sqreen_Exception"),
            "    _sqreen_act = %s.run_failing(_sqreen_st, %s, %s, _sqreen_exc)" % (
                hp, "_sqreen_b" if timed else "None", view),
            "    if _sqreen_act is None:",
            "        raise",
            "    return _sqreen_act.value",
        ]
    else:
        lines.append("_sqreen_result = " + invoke)
    if post and suspends:
        lines += _enter(ref) + ["if _sqreen_st.busy:", "    return _sqreen_result"] + _budget_lookup(budget)
    if len(post) == 1 and not (post[0][1] and timed):
        name = PREFIX + "post0"
        objects[name] = post[0][0]
        lines += _chain_start(budget)[:-1] + _guarded(name, "post", "%s, _sqreen_result" % view, False, ref)
        lines += _chain_end(budget) + [
            "if _sqreen_act is not None:",
            "    _sqreen_result = %s.post_action(%s, _sqreen_act, _sqreen_result)" % (hp, name),
        ]
    elif post:
        lines += _chain_start(budget)
        for index, (callback, interruptible) in enumerate(post):
            name = "%spost%d" % (PREFIX, index)
            objects[name] = callback
            arguments = "%s, _sqreen_result" % view
            lines += _indent(_guarded(name, "post", arguments, interruptible and timed, ref), 1)
            lines += [
                "    if _sqreen_act is not None:",
                "        _sqreen_result = %s.post_action(%s, _sqreen_act, _sqreen_result)" % (hp, name),
            ]
        lines += _chain_end(budget)
    lines.append("return _sqreen_result")
    return lines, objects


def _enter(ref):
    """This thread's re-entrancy flag."""
    return [
        "try:",
        "    _sqreen_st = %s.state" % ref("_sqreen_tls"),
        "except %s:" % ref("_sqreen_AttributeError"),
        "    _sqreen_st = %s.thread_state()" % ref("_sqreen_hp"),
    ]


def _budget_lookup(budget):
    if budget is None:
        return []
    return ["_sqreen_b = %s.current() if %s.enabled else None" % (budget, budget)]


def _pre_levels(pre, view, objects, ref, budget):
    """Each pre callback runs only while the ones before it returned None."""
    lines = []
    timed = budget is not None
    for index in reversed(range(len(pre))):
        name = "%spre%d" % (PREFIX, index)
        rest = "%srest%d" % (PREFIX, index)
        objects[name] = pre[index][0]
        objects[rest] = (pre[index][0], pre[index + 1:])
        level = _guarded(name, "pre", view, pre[index][1] and timed, ref)
        if lines:
            level += ["if _sqreen_act is None:"] + _indent(lines, 1) + ["else:"]
        else:
            level += ["if _sqreen_act is not None:"]
        level.append("    _sqreen_rest = " + ref(rest))
        lines = level
    return lines


def _guarded(name, stage, arguments, interruptible, ref):
    """Call one callback, its errors caught; interruptible ones skipped once the budget is spent."""
    lines = [
        "try:",
        "    _sqreen_act = %s(%s)" % (name, arguments),
        "except %s:" % ref("_sqreen_Exception"),
        "    _sqreen_act = %s.callback_failed(%s, %r)" % (ref("_sqreen_hp"), name, stage),
    ]
    if not interruptible:
        return lines
    return [
        "if _sqreen_b is not None and _sqreen_b.exhausted(_sqreen_t):",
        "    _sqreen_act = _sqreen_b.skip()",
        "else:",
    ] + _indent(lines, 1)


def _chain_start(budget):
    if budget is None:
        return ["_sqreen_st.busy = True", "try:"]
    return [
        "_sqreen_st.busy = True",
        "if _sqreen_b is not None:",
        "    _sqreen_t = %s.clock()" % budget,
        "try:",
    ]


def _chain_end(budget):
    if budget is None:
        return ["finally:", "    _sqreen_st.busy = False"]
    return [
        "finally:",
        "    _sqreen_st.busy = False",
        "    if _sqreen_b is not None:",
        "        _sqreen_b.spent += %s.clock() - _sqreen_t" % budget,
    ]


def _indent(lines, levels):
    pad = "    " * levels
    return [pad + line for line in lines]


def function_source(name, params, lines, preamble=()):
    """``def name(params):`` around ``lines`` (with optional leading lines)."""
    return "\n".join(["def %s(%s):" % (name, params)] + _indent(list(preamble) + lines, 1)) + "\n"
