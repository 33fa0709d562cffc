"""Django templates: every page the Django engine renders inside a request is checked for reflected XSS.

``django.template.base.Template.render`` is hooked after the call: the
backend's ``Template.render``, ``render_to_string``, ``render`` and
``TemplateResponse`` all end there, and so does ``{% include %}`` (the
included page is checked, then its parent's). The rendered page and the
request's inputs go to ``_template_xss.check_page``; in block mode the page
returned (still a ``SafeString``) has the offending input escaped in place.

The literal text of the templates, which an input may happen to equal
(``<br>``, ``">``), is the source of each template rendered for the
request (noted by a hook on ``Template._render``, which extended parents go
through too), kept only for requests with an input that carries markup.
"""
from __future__ import absolute_import

from sqreen import _log, _request
from sqreen.instrumentation import ReturnValue, hook
from sqreen.integrations import _template_xss

_SOURCES_KEY = "xss_django_sources"
#: At most this many template sources are kept for one request.
MAX_SOURCES = 64
_state = {"handles": []}


def _sources(request):
    return request._cache.setdefault(_SOURCES_KEY, [])


def _note_source(instance, args, kwargs):
    request = _request.current()
    if request is None or not _template_xss.candidates(request):
        return
    sources = _sources(request)
    source = getattr(instance, "source", None)
    if source is not None and len(sources) < MAX_SOURCES and not any(s is source for s in sources):
        sources.append(source)


def _literals():
    request = _request.current()
    return list(_sources(request)) if request is not None else []


def _checked_render(instance, args, kwargs, result):
    fixed = _template_xss.check_page(result, _literals)
    if fixed is None:
        return None
    from django.utils.safestring import mark_safe

    return ReturnValue(mark_safe(fixed))


def patch(module):
    """Hook ``Template.render`` and ``Template._render`` of ``django.template.base`` (once)."""
    if _state["handles"]:
        return
    template_class = module.Template
    for name, callbacks in (("_render", {"pre": _note_source}), ("render", {"post": _checked_render})):
        try:
            _state["handles"].append(hook((template_class, name), **callbacks))
        except Exception:
            _log.log_once("integration:django_templates:" + name, "sqreen: cannot hook Django's "
                          "Template.%s; its pages are not checked for XSS", name, exc_info=True)


def unpatch():
    """Undo :func:`patch`."""
    while _state["handles"]:
        _state["handles"].pop().remove()
