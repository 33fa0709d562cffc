"""urllib3: ``PoolManager.urlopen`` is checked for SSRF, and every new connection's peer is judged.

``PoolManager.urlopen`` (``request()``, ``urllib3.request()`` and
``ProxyManager`` come through it) is a fetch, or a hop inside one: urllib3
follows redirects by calling it again with the new URL. Below it,
``HTTPConnection._new_conn`` opens every socket urllib3 uses (its HTTPS
connection too, before the TLS handshake): the address it reached is
judged for a fetch an input steered, so DNS rebinding is caught there (see
``_ssrf_fetch``). A pool the application builds itself
(``HTTPConnectionPool(host)``) is checked at that level, as the URL
``scheme://host:port/``, when it opens a connection.
"""
from __future__ import absolute_import

from sqreen.integrations import _ssrf_fetch, http_client


#: The URL of ``urlopen(method, url, ...)``.
url_of = _ssrf_fetch.argument(1, "url")


def socket_of(instance, result):
    return result


def hooks(module):
    """``PoolManager.urlopen`` and ``connection.HTTPConnection._new_conn`` of ``urllib3``."""
    from urllib3 import connection, poolmanager

    return [(poolmanager.PoolManager, "urlopen", _ssrf_fetch.Entry("urllib3", url_of)),
            (connection.HTTPConnection, "_new_conn",
             _ssrf_fetch.Connection("urllib3", http_client.url_of, socket_of))]


patch, unpatch = _ssrf_fetch.integration(hooks)
