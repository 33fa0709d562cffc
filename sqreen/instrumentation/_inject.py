"""Code injection: hook a pure-Python function by swapping its ``__code__``.

The function object keeps its identity, so references taken before the
agent started (``from x import f``, registries, signal receivers) are
hooked too. Its code becomes a trampoline compiled for the occasion with
the same parameters, flags and free variables (so ``__defaults__``,
``__kwdefaults__`` and ``__closure__`` still fit, and ``inspect`` sees the
same signature and the same generator / coroutine nature). The trampoline
hands the call to the hook point together with a private copy of the
original function (a new function object over the original code, globals
and closure): the original body runs with its own code object, so its line
numbers, tracebacks and frames are unchanged. The hook point and the copy
are constants of the trampoline's code, not globals of the module.

Removing the hook puts the original code object back: the function then
costs exactly what it cost before. CPython 3.6+ only.
"""
import keyword
import sys
import types

from . import _inject_async

CO_VARARGS = 0x04
CO_VARKEYWORDS = 0x08
CO_GENERATOR = 0x20
CO_COROUTINE = 0x80
CO_ITERABLE_COROUTINE = 0x100
CO_ASYNC_GENERATOR = 0x200
_KIND_FLAGS = CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR
_SHAPE_FLAGS = CO_VARARGS | CO_VARKEYWORDS | _KIND_FLAGS

# Placeholders in the trampoline's source, swapped for objects in co_consts.
_HOOKPOINT = "__sqreen_hookpoint__"
_COPY = "__sqreen_copy__"
_LIB = "__sqreen_lib__"
_LOCAL_PREFIX = "_sqreen_"

_PLAIN = "return {hp}.call({wrapped}, {instance}, {args}, {kwargs}) if 1 else ({freevars})"
_GENERATOR = (
    "return (yield from {lib}.{drive}({hp}, {wrapped}, {instance}, {args}, {kwargs})) if 1 else ({freevars})"
)
_COROUTINE = (
    "return (await {lib}.drive_coroutine({hp}, {wrapped}, {instance}, {args}, {kwargs}))"
    " if 1 else ({freevars})"
)


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
    trampoline = build_trampoline(original, hookpoint, copy, kind)
    func.__code__ = trampoline

    def undo():
        # Someone else may have swapped the code since; then leave theirs (the
        # emptied hook point calls straight through).
        if func.__code__ is trampoline:
            func.__code__ = original

    return undo


def _nparams(code):
    return (code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & CO_VARARGS)
            + bool(code.co_flags & CO_VARKEYWORDS))


def _parameters(code):
    """The parameter list source and the ``(instance, args, kwargs)`` expressions."""
    names = code.co_varnames
    nargs, nkwonly = code.co_argcount, code.co_kwonlyargcount
    posonly = getattr(code, "co_posonlyargcount", 0)
    positional = list(names[:nargs])
    kwonly = list(names[nargs:nargs + nkwonly])
    index = nargs + nkwonly
    varargs = varkw = None
    if code.co_flags & CO_VARARGS:
        varargs = names[index]
        index += 1
    if code.co_flags & CO_VARKEYWORDS:
        varkw = names[index]
    params = list(positional)
    if posonly:
        params.insert(posonly, "/")
    if varargs:
        params.append("*" + varargs)
    elif kwonly:
        params.append("*")
    params.extend(kwonly)
    if varkw:
        params.append("**" + varkw)
    return ", ".join(params), positional, kwonly, varargs, varkw


def _call_source(code, kind):
    params, positional, kwonly, varargs, varkw = _parameters(code)
    if kind == "method":
        instance, positional = positional[0], positional[1:]
        wrapped = "%s.__get__(%s)" % (_COPY_SRC, instance)
    else:
        instance, wrapped = "None", _COPY_SRC
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
    return params, dict(wrapped=wrapped, instance=instance, args=args, kwargs=kwargs,
                        hp=_HP_SRC, lib=_LIB_SRC)


_HP_SRC, _COPY_SRC, _LIB_SRC = repr(_HOOKPOINT), repr(_COPY), repr(_LIB)


def _source(code, kind):
    params, parts = _call_source(code, kind)
    freevars = "".join(name + ", " for name in code.co_freevars)
    flags = code.co_flags
    if flags & CO_ASYNC_GENERATOR:
        body = _inject_async.ASYNC_GENERATOR.format(**parts)
        prefix = "async "
    elif flags & CO_COROUTINE:
        body, prefix = _COROUTINE.format(freevars=freevars, **parts), "async "
    elif flags & CO_GENERATOR:
        parts["drive"] = "drive_coroutine" if flags & CO_ITERABLE_COROUTINE else "drive"
        body, prefix = _GENERATOR.format(freevars=freevars, **parts), ""
    else:
        body, prefix = _PLAIN.format(freevars=freevars, **parts), ""
    lines = ["def _sqreen_outer():"]
    if code.co_freevars:
        lines.append("    %s = None" % " = ".join(code.co_freevars))
    if "\n" in body:  # multi-line bodies name their free variables on a line of their own
        lines.append("    %sdef _sqreen_trampoline(%s):" % (prefix, params))
        if code.co_freevars:
            lines.append("        if 0: (%s)" % freevars)
        lines.extend("        " + line for line in body.splitlines())
    else:
        lines.append("    %sdef _sqreen_trampoline(%s): %s" % (prefix, params, body))
    lines.append("    return _sqreen_trampoline")
    return "\n".join(lines) + "\n"


def build_trampoline(original, hookpoint, copy, kind):
    """The trampoline code object for ``original`` (see the module docstring)."""
    namespace = {}
    exec(compile(_source(original, kind), original.co_filename, "exec"), namespace)
    code = namespace["_sqreen_outer"]().__code__
    objects = {_HOOKPOINT: hookpoint, _COPY: copy, _LIB: _inject_async}
    consts = tuple(objects.get(c, c) if type(c) is str else c for c in code.co_consts)
    changes = dict(
        co_consts=consts,
        co_name=original.co_name,
        co_firstlineno=original.co_firstlineno,
        co_flags=(code.co_flags & ~CO_ITERABLE_COROUTINE) | (original.co_flags & CO_ITERABLE_COROUTINE),
    )
    if sys.version_info >= (3, 11):
        changes["co_qualname"] = original.co_qualname
    code = _replace(code, **changes)
    _check(original, code)
    return code


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
