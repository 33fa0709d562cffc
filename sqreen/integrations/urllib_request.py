"""urllib.request (urllib2 on Python 2.7): every ``OpenerDirector.open`` is checked for SSRF.

``urlopen`` and every opener the application builds go through
``OpenerDirector.open``, and so do the redirects urllib follows (its
redirect handler opens the new URL on the same opener): the first call is
the fetch, whose URL is checked, and the ones inside it are hops, whose
hosts are judged before urllib connects (see ``_ssrf_fetch``). urllib
fetches ``file:``, ``ftp:`` and ``data:`` URLs too, so a scheme an input
chose is caught here, before any handler runs. The connections urllib
makes for http and https are watched by the http.client integration.
"""
from __future__ import absolute_import

from sqreen.integrations import _ssrf_fetch


def url_of(instance, args, kwargs):
    """The URL an ``open(fullurl, ...)`` call fetches: a string, or a ``Request``'s full URL."""
    fullurl = args[0] if args else kwargs.get("fullurl")
    if fullurl is None or isinstance(fullurl, (str, bytes, type(u""))):
        return fullurl
    get_full_url = getattr(fullurl, "get_full_url", None)
    return get_full_url() if get_full_url is not None else None


def hooks(module):
    """``OpenerDirector.open`` of ``urllib.request`` or ``urllib2``."""
    return [(module.OpenerDirector, "open", _ssrf_fetch.Entry(module.__name__, url_of))]


patch, unpatch = _ssrf_fetch.integration(hooks)
