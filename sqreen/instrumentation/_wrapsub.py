"""Hooking methods of C types through a subclass the library is asked to use.

Methods of C types (``sqlite3.Connection.execute``, ``psycopg2``'s cursor)
cannot be replaced: the type refuses new attributes. Many such libraries take
a ``factory=`` argument naming the class to instantiate instead; a subclass
whose methods go through hook points, passed as that factory, hooks every
object the library hands out while ``isinstance(obj, TheCType)`` stays true.

The pattern, for sqlite3::

    cursor_hooks = {"execute": hp_cursor_execute}
    connection_hooks = {"execute": hp_execute,
                        "cursor": FactoryArgument("factory", 0, sqlite3.Cursor, cursor_hooks)}
    undo = _wrappers.install(sqlite3, "connect",
                             FactoryArgument("factory", 5, sqlite3.Connection, connection_hooks))

A factory the application passes itself is kept: the hooked subclass derives
from it. Objects created while hooked keep their class after ``undo()``;
their hook points simply have no callbacks any more.
"""
from types import MethodType

from ._wrappers import locked

__all__ = ["FactoryArgument", "hooked_subclass"]

_subclasses = {}  # (base, id(hooks)) -> (hooks, subclass)


def _lookup(cls, name):
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    raise AttributeError("%r has no attribute %r" % (cls, name))


def _through(base, name, raw, hookpoint):
    """A method calling ``raw`` (bound to self) through ``hookpoint``."""

    def method(self, *args, **kwargs):
        if hookpoint.active:
            return hookpoint.call(MethodType(raw, self), self, args, kwargs)
        return raw(self, *args, **kwargs)

    method.__name__ = name
    method.__qualname__ = "%s.%s" % (base.__name__, name)
    method.__doc__ = getattr(raw, "__doc__", None)
    method.__wrapped__ = raw
    return method


def hooked_subclass(base, hooks):
    """Return a subclass of ``base`` whose methods named in ``hooks`` go through hook points.

    ``hooks`` maps a method name to a hook point (or a ``FactoryArgument``);
    the method of ``base`` (the C one, or an override of the application's
    own factory) is called bound to the instance. The subclass is cached per
    ``base`` and ``hooks`` object, so a factory passed on every call does not
    make a new class each time.
    """
    key = (base, id(hooks))
    cached = _subclasses.get(key)
    if cached is not None and cached[0] is hooks:
        return cached[1]
    with locked():
        cached = _subclasses.get(key)
        if cached is not None and cached[0] is hooks:
            return cached[1]
        namespace = {"__module__": base.__module__, "__doc__": base.__doc__, "__slots__": ()}
        for name, hook in hooks.items():
            namespace[name] = _through(base, name, _lookup(base, name), hook)
        subclass = type(base)(base.__name__, (base,), namespace)
        _subclasses[key] = (hooks, subclass)
        return subclass


class FactoryArgument(object):
    """Stands in for a hook point: the call goes on with its factory argument hooked.

    ``keyword`` / ``position`` locate the factory argument (``position``
    does not count ``self``; None when it is keyword-only); ``default`` is the
    class the callee uses when the caller passes none; ``hooks`` is given to
    ``hooked_subclass``. Usable wherever a hook point is: with
    ``_wrappers.install`` on a module function, or as a value of ``hooks``
    for a method that itself takes a factory (``Connection.cursor``).
    """

    active = True

    def __init__(self, keyword, position, default, hooks):
        self.keyword = keyword
        self.position = position
        self.default = default
        self.hooks = hooks
        self._default_subclass = None  # hooked_subclass(default, hooks), made on first use

    def call(self, wrapped, instance, args, kwargs):
        position = self.position
        if position is not None and len(args) > position:
            factory = hooked_subclass(args[position], self.hooks)
            args = args[:position] + (factory,) + args[position + 1:]
            return wrapped(*args, **kwargs)
        if not kwargs:  # the common case, sqlite3.connect(path): the default factory, hooked
            return wrapped(*args, **{self.keyword: self._default_subclass or self._hooked_default()})
        kwargs = dict(kwargs)
        factory = kwargs.get(self.keyword)
        if not factory or factory is self.default:  # the common case: no factory of the app's
            factory = self._default_subclass or self._hooked_default()
        else:
            factory = hooked_subclass(factory, self.hooks)
        kwargs[self.keyword] = factory
        return wrapped(*args, **kwargs)

    def _hooked_default(self):
        factory = self._default_subclass = hooked_subclass(self.default, self.hooks)
        return factory
