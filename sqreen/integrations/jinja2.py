"""Jinja2: every page a template renders inside a request is checked for reflected XSS.

``Template.render`` and (Python 3) ``Template.render_async`` are hooked
after the call: the rendered page and the request's inputs go to
``_template_xss.check_page``; in block mode the page returned has the
offending input escaped in place. ``Template.generate`` -- and so
``stream`` and Flask's ``stream_template`` -- is replaced on the class by a
generator that checks each piece against the page sent so far (the
instrumentation core's hooks cannot filter a generator's items). Templates
made by ``Environment.from_string``, ``get_template`` and Flask's
``render_template`` / ``render_template_string`` are all ``Template``
objects (or subclasses), so all go through these.

The literal text of the templates, which an input may happen to equal
(``<br>``, ``">``), is read from the string constants of the compiled
template's code and of the environment's cached templates (its includes,
parents and imports), only when an input is found where it would act.

Known gaps: ``generate_async``; templates loaded with the environment's
cache disabled are not among the literals (an input equal to their markup
could then be reported).
"""
from __future__ import absolute_import

import sys
import types

import six

from sqreen import _log
from sqreen.instrumentation import ReturnValue, hook
from sqreen.integrations import _template_xss

_LITERALS = "_sqreen_literals"
_MARK = "__sqreen_xss__"
_state = {"handles": [], "undo": []}


def _code_strings(code, out):
    for const in code.co_consts:
        if isinstance(const, six.string_types):
            out.append(const)
        elif isinstance(const, types.CodeType):
            _code_strings(const, out)


def template_literals(template):
    """The string constants of a compiled template's code (its literal text among them), cached on it."""
    cached = template.__dict__.get(_LITERALS)
    if cached is None:
        cached = []
        functions = [getattr(template, "root_render_func", None)]
        functions.extend((getattr(template, "blocks", None) or {}).values())
        for function in functions:
            code = getattr(function, "__code__", None)
            if code is not None:
                _code_strings(code, cached)
        template.__dict__[_LITERALS] = cached
    return cached


def _literals_of(template):
    def literals():
        texts = list(template_literals(template))
        cache = getattr(getattr(template, "environment", None), "cache", None)
        if cache is not None:
            for other in list(cache.values()):
                if other is not template:
                    texts.extend(template_literals(other))
        return texts

    return literals


def _checked_render(instance, args, kwargs, result):
    if not _template_xss.markup_now():  # the common case: no input carries markup
        return None
    fixed = _template_xss.check_page(result, _literals_of(instance))
    if fixed is not None:
        return ReturnValue(type(result)(fixed))
    return None


def _checked_generate(original):
    def generate(self, *args, **kwargs):
        pieces = original(self, *args, **kwargs)
        for piece in _template_xss.check_stream(pieces, _literals_of(self)):
            yield piece

    generate.__name__ = original.__name__
    generate.__doc__ = original.__doc__
    generate.__wrapped__ = original
    setattr(generate, _MARK, True)
    return generate


def _replace_generate(cls):
    original = vars(cls).get("generate")
    if original is None or getattr(original, _MARK, False):
        return
    cls.generate = _checked_generate(original)

    def undo():
        if getattr(vars(cls).get("generate"), _MARK, False):
            cls.generate = original

    _state["undo"].append(undo)


def patch(module):
    """Hook ``Template`` of the ``jinja2`` package (once)."""
    if _state["handles"] or _state["undo"]:
        return
    template_class = module.Template
    names = ["render"]
    if sys.version_info[0] >= 3 and "render_async" in vars(template_class):
        names.append("render_async")
    for name in names:
        try:
            _state["handles"].append(hook((template_class, name), post=_checked_render))
        except Exception:
            _log.log_once("integration:jinja2:" + name, "sqreen: cannot hook jinja2 Template.%s; its pages "
                          "are not checked for XSS", name, exc_info=True)
    try:
        _replace_generate(template_class)
    except Exception:
        _log.log_once("integration:jinja2:generate", "sqreen: cannot hook jinja2 Template.generate; "
                      "streamed pages are not checked for XSS", exc_info=True)


def unpatch():
    """Undo :func:`patch`."""
    while _state["handles"]:
        _state["handles"].pop().remove()
    while _state["undo"]:
        _state["undo"].pop()()
