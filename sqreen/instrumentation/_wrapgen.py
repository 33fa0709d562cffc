"""Wrappers for generator, coroutine and async generator functions (Python 3 only).

A plain closure around such a function would run the callbacks when it is
called rather than when its body runs, hand post callbacks the generator
object instead of its result, and hide its kind from
``inspect.isgeneratorfunction`` / ``iscoroutinefunction`` (which frameworks
use to tell async views apart). These wrappers are of the same kind as their
target and drive it with the code injection's own helpers, so both
mechanisms give these functions the same callbacks at the same moments.

``parts(args)`` is supplied by ``_wrappers``: it returns, for one call,
``(hookpoint, wrapped, instance, args)`` as the wrapper's layer sees it then.
"""
import types

from . import _inject_async

CO_GENERATOR = 0x20
CO_COROUTINE = 0x80
CO_ITERABLE_COROUTINE = 0x100
CO_ASYNC_GENERATOR = 0x200


def _generator(parts, drive):
    def wrapper(*args, **kwargs):
        hookpoint, wrapped, instance, args = parts(args)
        return (yield from drive(hookpoint, wrapped, instance, args, kwargs))

    return wrapper


def _coroutine(parts):
    async def wrapper(*args, **kwargs):
        hookpoint, wrapped, instance, args = parts(args)
        return await _inject_async.drive_coroutine(hookpoint, wrapped, instance, args, kwargs)

    return wrapper


_ASYNC_GENERATOR_HEAD = "async def wrapper(*args, **kwargs):\n" \
    "    _sqreen_hp, _sqreen_wrapped, _sqreen_instance, _sqreen_args = _sqreen_parts(args)\n"


def _async_generator(parts):
    body = _inject_async.ASYNC_GENERATOR.format(bound="_sqreen_wrapped", instance="_sqreen_instance",
                                                args="_sqreen_args", kwargs="kwargs")
    source = _ASYNC_GENERATOR_HEAD + "".join("    %s\n" % line for line in body.splitlines())
    namespace = {"_sqreen_lib": _inject_async, "_sqreen_parts": parts}
    exec(compile(source, "<sqreen async generator wrapper>", "exec"), namespace)
    return namespace["wrapper"]


def build(target, parts):
    """A wrapper of the same kind as the generator-like function ``target``."""
    flags = target.__code__.co_flags
    if flags & CO_ASYNC_GENERATOR:
        return _async_generator(parts)
    if flags & CO_COROUTINE:
        return _coroutine(parts)
    if flags & CO_ITERABLE_COROUTINE:
        return types.coroutine(_generator(parts, _inject_async.drive_coroutine))
    return _generator(parts, _inject_async.drive)
