"""Code injection: hook a pure-Python function by swapping its ``__code__``.

The function object keeps its identity, so references taken before the
agent started (``from x import f``, registries, signal receivers) are
hooked too. Its code becomes a trampoline compiled for the occasion with
the same parameters, flags and free variables (so ``__defaults__``,
``__kwdefaults__`` and ``__closure__`` still fit, and ``inspect`` sees the
same signature and the same generator / coroutine nature). The trampoline
is the hook point's dispatch written out for the current callbacks (see
``_dispatch``), rebuilt whenever they change; it calls a private copy of
the original function (a new function object over the original code,
globals and closure) with the parameters it received, so the original
body runs with its own code object: its line numbers, tracebacks and
frames are unchanged. Callbacks, the hook point and the copy are constants
of the trampoline's code, never globals of the module; the trampoline's
own instructions all sit on the ``def`` line.

Removing the hook puts the original code object back: the function then
costs what it cost before (on CPython 3.13, less the call-site
specialization that any ``__code__`` assignment disables for good). While
hooked, each call takes two frames (trampoline and original), so deeply
recursive functions reach the recursion limit at half their usual depth.
CPython 3.6+ only.
"""
import keyword
import sys
import types

from . import _budget, _dispatch, _hookpoint, _inject_async

CO_VARARGS = 0x04
CO_VARKEYWORDS = 0x08
CO_GENERATOR = 0x20
CO_COROUTINE = 0x80
CO_ITERABLE_COROUTINE = 0x100
CO_ASYNC_GENERATOR = 0x200
_KIND_FLAGS = CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR
_SHAPE_FLAGS = CO_VARARGS | CO_VARKEYWORDS | _KIND_FLAGS

# Objects reach the trampoline as locals bound from placeholder strings that
# are swapped for the objects in its co_consts.
_LOCAL_PREFIX = "_sqreen_"


def supported(func, kind):
    """True when ``func`` can be hooked by injection as ``kind`` ("function" or "method")."""
    if type(func) is not types.FunctionType:
        return False
    code = func.__code__
    if kind == "method" and code.co_argcount == 0:
        return False  # the instance would hide in *args
    names = code.co_varnames[:_nparams(code)] + code.co_freevars
    return not any(n.startswith(_LOCAL_PREFIX) or keyword.iskeyword(n) for n in names)


def install(func, hookpoint, kind):
    """Hook ``func`` through ``hookpoint``; return ``undo()`` that restores its code."""
    original = func.__code__
    copy = types.FunctionType(original, func.__globals__, func.__name__, func.__defaults__,
                              func.__closure__)
    copy.__kwdefaults__ = func.__kwdefaults__
    copy.__qualname__ = func.__qualname__
    current = [original, _dispatch.Live()]  # the code in place, and the liveness flag of that trampoline

    def retire():
        # Someone (another tool wrapping this function) may hold the old
        # trampoline: it then calls through the hook point's current callbacks.
        current[1].alive = False

    def update():
        # The trampoline inlines the callbacks: rebuild it on every change.
        # Someone else may have swapped the code since; then leave theirs.
        if func.__code__ is current[0]:
            code, live = build_trampoline(original, hookpoint, copy, kind)
            retire()
            current[:] = [code, live]
            func.__code__ = code
        else:
            retire()

    def undo():
        if update in hookpoint.listeners:
            hookpoint.listeners.remove(update)
        retire()
        if func.__code__ is current[0]:
            func.__code__ = original

    update()
    if not original.co_flags & CO_ASYNC_GENERATOR:
        hookpoint.listeners.append(update)
    return undo


def _nparams(code):
    return (code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & CO_VARARGS)
            + bool(code.co_flags & CO_VARKEYWORDS))


def _parameters(code):
    """The parameter names: positional, keyword-only, ``*args``, ``**kwargs`` (or None)."""
    names = code.co_varnames
    nargs, nkwonly = code.co_argcount, code.co_kwonlyargcount
    positional = list(names[:nargs])
    kwonly = list(names[nargs:nargs + nkwonly])
    index = nargs + nkwonly
    varargs = varkw = None
    if code.co_flags & CO_VARARGS:
        varargs = names[index]
        index += 1
    if code.co_flags & CO_VARKEYWORDS:
        varkw = names[index]
    return positional, kwonly, varargs, varkw


def _parameter_list(code):
    positional, kwonly, varargs, varkw = _parameters(code)
    params = list(positional)
    posonly = getattr(code, "co_posonlyargcount", 0)
    if posonly:
        params.insert(posonly, "/")
    if varargs:
        params.append("*" + varargs)
    elif kwonly:
        params.append("*")
    params.extend(kwonly)
    if varkw:
        params.append("**" + varkw)
    return ", ".join(params)


def _call_parts(code, kind):
    """Expressions for the call: instance, args, kwargs, direct call of the copy, bound copy."""
    positional, kwonly, varargs, varkw = _parameters(code)
    invoke = list(positional) + (["*" + varargs] if varargs else [])
    invoke += ["%s=%s" % (k, k) for k in kwonly] + (["**" + varkw] if varkw else [])
    if kind == "method":
        instance, positional = positional[0], positional[1:]
        bound = "_sqreen_copy.__get__(%s)" % instance
    else:
        instance, bound = "None", "_sqreen_copy"
    if varargs and positional:
        args = "(%s, *%s)" % (", ".join(positional), varargs)
    elif varargs:
        args = varargs
    else:
        args = "(%s)" % "".join(p + ", " for p in positional)
    items = ["%r: %s" % (k, k) for k in kwonly]
    if varkw and not items:
        kwargs = varkw  # already a fresh dict of this call
    else:
        kwargs = "{%s}" % ", ".join(items + (["**" + varkw] if varkw else []))
    return dict(instance=instance, args=args, kwargs=kwargs, invoke="_sqreen_copy(%s)" % ", ".join(invoke),
                bound=bound)


def _placeholder(name):
    return "__sqreen_object_%s__" % name


def _by_name(name):
    called = ("_sqreen_copy", "_sqreen_lib")
    return name in called or name.startswith(("_sqreen_pre", "_sqreen_post"))


def _constant(name):
    return repr(_placeholder(name))


def _source(code, kind, hookpoint, copy):
    """Source of ``_sqreen_outer()``, which returns the trampoline, and the objects it names."""
    parts = _call_parts(code, kind)
    flags = code.co_flags
    prefix = "async " if flags & (CO_COROUTINE | CO_ASYNC_GENERATOR) else ""
    resume = None
    if flags & CO_ASYNC_GENERATOR:
        lines = _inject_async.ASYNC_GENERATOR.format(**parts).splitlines()
        lines = [line.replace("_sqreen_hp", _constant("_sqreen_hp")) for line in lines]
        objects = {}
    else:
        if flags & (CO_COROUTINE | CO_GENERATOR):
            # Generators and coroutines delegate to the original's; a pre
            # decision hands the rest of the call to the generic driver.
            drive = "drive_coroutine" if flags & (CO_COROUTINE | CO_ITERABLE_COROUTINE) else "drive"
            suspend = "yield from" if flags & CO_GENERATOR else "await"
            parts["invoke"] = "(%s %s)" % (suspend, parts["invoke"])
            resume = "(%s _sqreen_lib.%s(%s, %%(bound)s, %%(view)s, %%(at)s, %%(action)s))" % (
                suspend, drive, _constant("_sqreen_hp"))
        lines, objects = _dispatch.body(hookpoint.chains(), parts["instance"], parts["args"],
                                        parts["kwargs"], parts["invoke"], parts["bound"], _constant, resume,
                                        live="_sqreen_live", timed=_budget.enabled)
    if flags & _KIND_FLAGS:
        objects["_sqreen_lib"] = _inject_async
    objects.update(_hookpoint.dispatch_objects(hookpoint))
    objects["_sqreen_copy"] = copy
    # Only the callables are called by name (calling a literal draws a
    # SyntaxWarning): bind those from their placeholders on entry.
    preamble = ["%s = %r" % (name, _placeholder(name)) for name in sorted(objects) if _by_name(name)]
    if code.co_freevars:  # make them free variables of the trampoline too, in the same order
        preamble.append("if 0: (%s)" % "".join(name + ", " for name in code.co_freevars))
    trampoline = _dispatch.function_source("_sqreen_trampoline", _parameter_list(code), lines, preamble)
    outer = ["def _sqreen_outer():"]
    if code.co_freevars:
        outer.append("    %s = None" % " = ".join(code.co_freevars))
    outer += ["    " + prefix + line for line in trampoline.splitlines()[:1]]
    outer += ["    " + line for line in trampoline.splitlines()[1:]]
    outer.append("    return _sqreen_trampoline")
    return "\n".join(outer) + "\n", objects


def build_trampoline(original, hookpoint, copy, kind):
    """The trampoline code object for ``original`` (see the module docstring), and its liveness flag."""
    source, objects = _source(original, kind, hookpoint, copy)
    namespace = {}
    exec(compile(source, original.co_filename, "exec"), namespace)
    code = namespace["_sqreen_outer"]().__code__
    by_placeholder = dict((_placeholder(name), obj) for name, obj in objects.items())
    consts = tuple(by_placeholder.get(c, c) if type(c) is str else c for c in code.co_consts)
    changes = dict(
        co_consts=consts,
        co_name=original.co_name,
        co_firstlineno=original.co_firstlineno,
        co_flags=(code.co_flags & ~CO_ITERABLE_COROUTINE) | (original.co_flags & CO_ITERABLE_COROUTINE),
    )
    if sys.version_info >= (3, 11):
        changes["co_qualname"] = original.co_qualname
    changes.update(_one_line(code))
    code = _replace(code, **changes)
    _check(original, code)
    return code, objects.get("_sqreen_live", _dispatch.Live())


def _one_line(code):
    """Line table changes that put every instruction on the first line (the ``def``)."""
    size = len(code.co_code)
    if sys.version_info >= (3, 11):
        units = size // 2  # entries "no columns, same line", 8 code units at most each
        table = b"".join(bytes([0xE8 | (min(8, units - i) - 1), 0]) for i in range(0, units, 8))
        return {"co_linetable": table}
    if sys.version_info >= (3, 10):
        return {"co_linetable": b"".join(bytes([min(254, size - i), 0]) for i in range(0, size, 254))}
    return {"co_lnotab": b""}


def _check(original, code):
    for attr in ("co_argcount", "co_kwonlyargcount", "co_posonlyargcount", "co_freevars"):
        if getattr(original, attr, None) != getattr(code, attr, None):
            raise AssertionError("trampoline %s differs for %r" % (attr, original))
    nparams = _nparams(original)
    if (original.co_varnames[:nparams] != code.co_varnames[:nparams]
            or original.co_flags & _SHAPE_FLAGS != code.co_flags & _SHAPE_FLAGS):
        raise AssertionError("trampoline signature differs for %r" % (original,))


if sys.version_info >= (3, 8):
    def _replace(code, **changes):
        return code.replace(**changes)
else:
    _CODE_ARGS = ("co_argcount", "co_kwonlyargcount", "co_nlocals", "co_stacksize", "co_flags", "co_code",
                  "co_consts", "co_names", "co_varnames", "co_filename", "co_name", "co_firstlineno",
                  "co_lnotab", "co_freevars", "co_cellvars")

    def _replace(code, **changes):
        return types.CodeType(*[changes.get(a, getattr(code, a)) for a in _CODE_ARGS])
