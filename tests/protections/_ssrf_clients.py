"""The HTTP clients the SSRF tests fetch with: one GET of a URL each, through the client's usual API.

Each function takes the URL and an optional HTTP proxy URL (None: direct)
and returns ``(status, body)``.
"""
from six.moves.urllib.parse import urlsplit

TIMEOUT = 10


def _urllib(url, proxy):
    from six.moves.urllib.error import HTTPError
    from six.moves.urllib.request import ProxyHandler, build_opener, urlopen

    try:
        if proxy:
            response = build_opener(ProxyHandler({"http": proxy})).open(url, timeout=TIMEOUT)
        else:
            response = urlopen(url, timeout=TIMEOUT)
    except HTTPError as error:
        return error.code, b""
    return response.getcode(), response.read()


def _requests(url, proxy):
    import requests

    response = requests.get(url, timeout=TIMEOUT, proxies={"http": proxy} if proxy else None)
    return response.status_code, response.content


def _urllib3(url, proxy):
    import urllib3

    manager = urllib3.ProxyManager(proxy) if proxy else urllib3.PoolManager()
    response = manager.request("GET", url, timeout=TIMEOUT)
    return response.status, response.data


def _httpx(url, proxy):
    import httpx

    response = httpx.get(url, timeout=TIMEOUT, follow_redirects=True)
    return response.status_code, response.content


def _httpx_async(url, proxy):
    from tests.protections import _ssrf_async_clients

    return _ssrf_async_clients.run(_ssrf_async_clients.httpx_get(url, TIMEOUT))


def _aiohttp(url, proxy):
    from tests.protections import _ssrf_async_clients

    return _ssrf_async_clients.run(_ssrf_async_clients.aiohttp_get(url, TIMEOUT, proxy))


def _http_client(url, proxy):
    from six.moves import http_client

    parts = urlsplit(url)
    connection = http_client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        connection.request("GET", (parts.path or "/") + ("?" + parts.query if parts.query else ""))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


#: Client name -> (function(url, proxy) -> (status, body), modules it needs).
CLIENTS = {
    "urllib": (_urllib, ()),
    "requests": (_requests, ("requests",)),
    "urllib3": (_urllib3, ("urllib3",)),
    "httpx": (_httpx, ("httpx",)),
    "httpx_async": (_httpx_async, ("httpx",)),
    "aiohttp": (_aiohttp, ("aiohttp",)),
    "http_client": (_http_client, ()),
}
#: The clients told to go through a proxy in the tests.
PROXIED = ("urllib", "requests", "urllib3", "aiohttp")


def available():
    """The clients this interpreter can run (httpx and aiohttp are Python 3 only)."""
    names = []
    for name, (_, modules) in sorted(CLIENTS.items()):
        try:
            for module in modules:
                __import__(module)
        except ImportError:
            continue
        names.append(name)
    return names


def fetch(client, url, proxy=None):
    """``{"status": ..., "body": ...}`` or ``{"error": class name}`` of fetching ``url`` with ``client``."""
    try:
        status, body = CLIENTS[client][0](url, proxy)
    except Exception as error:
        return {"error": type(error).__name__}
    return {"status": status, "body": body[:80].decode("utf-8", "replace")}
