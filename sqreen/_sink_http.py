"""The HTTP sink: batches of events POSTed to the user's own backend.

A batch is one gzip-compressed JSON document ``{"events": [...]}`` sent
with the token in the ``X-Sqreen-Token`` header. TLS certificates are
verified and the usual proxy variables (``HTTPS_PROXY``, ``NO_PROXY`` ...)
are honoured, both through ``requests``' own environment handling.

Timeouts, connection errors, 5xx and 429 answers are retried a bounded
number of times with exponential backoff and full jitter (a random sleep
between zero and the exponential ceiling, so that many workers hitting one
recovering backend do not retry in lock-step); other answers are final.
This only ever runs on the reporter's thread: however slow or dead the
backend, the application does not wait for it. ``requests`` is imported
only when this sink is built.
"""
import random
import time
import zlib

import sqreen
from sqreen import _log

TOKEN_HEADER = "X-Sqreen-Token"
_monotonic = getattr(time, "monotonic", time.time)


def gzip_bytes(data, level=6):
    """``data`` compressed in the gzip format (works on Python 2 and 3)."""
    comp = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return comp.compress(data) + comp.flush()


def batch_body(lines):
    """The JSON document for ``lines`` (each one serialised event)."""
    return b'{"events":[' + b",".join(line.rstrip(b"\n") for line in lines) + b"]}"


def backoff_delay(attempt, base, cap, rand=random.random):
    """Full jitter: uniform in [0, min(cap, base * 2**attempt))."""
    return rand() * min(cap, base * (2 ** attempt))


def is_retryable_status(status):
    return status == 429 or 500 <= status <= 599


class HttpSink(object):
    """POSTs batches of encoded lines to ``url``."""

    def __init__(self, url, token=None, connect_timeout=3.05, read_timeout=10.0, max_retries=3,
                 backoff_base=0.5, backoff_cap=30.0, batch_size=500):
        import requests  # here, not at import: only users with a backend pay for it

        self._requests = requests
        self.url = url
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.max_retries = int(max_retries)
        self.backoff_base = float(backoff_base)
        self.backoff_cap = float(backoff_cap)
        self.batch_size = max(1, int(batch_size))
        self.session = requests.Session()  # trust_env: proxies and CA bundle from the environment
        self.session.verify = True
        self.headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": "sqreen-python/%s" % sqreen.__version__,
        }
        if token:
            self.headers[TOKEN_HEADER] = token

    def send(self, lines, budget=None):
        """POST ``lines`` in batches; return how many the backend accepted."""
        delivered = 0
        for i in range(0, len(lines), self.batch_size):
            chunk = lines[i:i + self.batch_size]
            if not self._post_with_retries(gzip_bytes(batch_body(chunk)), budget):
                break
            delivered += len(chunk)
        return delivered

    def close(self):
        try:
            self.session.close()
        except Exception:
            pass

    def abandon(self):
        """Forget the connections without touching them (after a fork)."""
        self.session = None

    def _post_with_retries(self, body, budget):
        attempt = 0
        while True:
            retry_after = self._post_once(body, budget)
            if retry_after is None:
                return True
            if retry_after is False or attempt >= self.max_retries:
                return False
            delay = backoff_delay(attempt, self.backoff_base, self.backoff_cap)
            if retry_after > delay:
                delay = min(retry_after, self.backoff_cap)
            remaining = budget.remaining() if budget is not None else None
            if remaining is not None and remaining <= delay:
                return False
            if budget is not None:
                budget.sleep(delay)
            else:
                time.sleep(delay)
            attempt += 1

    def _post_once(self, body, budget):
        """None on success, False when final, else seconds the server asked to wait (maybe 0)."""
        requests = self._requests
        connect, read = self.connect_timeout, self.read_timeout
        remaining = budget.remaining() if budget is not None else None
        if remaining is not None:
            if remaining <= 0:
                return False
            connect, read = min(connect, remaining), min(read, remaining)
        try:
            resp = self.session.post(
                self.url, data=body, headers=self.headers, timeout=(connect, read), allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            _log.log_once("reporter.http.tls", "sqreen: TLS error reaching %s: %s", self.url, exc)
            return False
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            _log.log_once("reporter.http.unreachable", "sqreen: cannot reach %s: %s", self.url, exc)
            return 0
        except Exception as exc:
            _log.log_once("reporter.http.error", "sqreen: cannot post events to %s: %s", self.url, exc,
                          exc_info=True)
            return False
        status = resp.status_code
        resp.close()
        if 200 <= status <= 299:
            return None
        if is_retryable_status(status):
            _log.log_once("reporter.http.retry", "sqreen: backend %s answered %s; retrying", self.url, status)
            return _retry_after(resp)
        _log.log_once("reporter.http.rejected", "sqreen: backend %s rejected events: HTTP %s",
                      self.url, status)
        return False


def _retry_after(resp):
    """The ``Retry-After`` delay in seconds (0 when absent or a date)."""
    try:
        return max(0.0, float(resp.headers.get("Retry-After", 0)))
    except (TypeError, ValueError):
        return 0
