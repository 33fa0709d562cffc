"""The middleware in-process: context lifetime, close(), blocking at every stage, IP lists, budget.

Every test runs with both request layers: the compiled one (where it was
built: ``serve`` and the response object) and the pure-Python one it stands in for.
"""
import sys
import threading

import pytest

from sqreen import _blocking, _events, _log, wsgi
from sqreen.instrumentation import RequestBlocked, _budget, budget, hook
from tests.helpers import require_compiled
from tests.web.conftest import make_environ, serve

calls = []

LAYERS = {"python": (wsgi._py_serve, wsgi._PyResponse)}
try:
    from sqreen import _wsgi_response
except ImportError:  # not built (no C compiler): the python one is in use
    _wsgi_response = None
else:
    LAYERS["compiled"] = (_wsgi_response.serve, _wsgi_response.Response)


@pytest.fixture(autouse=True, params=["compiled", "python"])
def layer(request, monkeypatch):
    if request.param not in LAYERS:
        require_compiled("sqreen._wsgi_response")
    monkeypatch.setattr(wsgi, "serve", LAYERS[request.param][0])
    monkeypatch.setattr(wsgi, "_Response", LAYERS[request.param][1])
    return request.param


def test_the_compiled_layer_serves_when_built():
    if _wsgi_response is not None:
        assert wsgi._compiled() is _wsgi_response


def sensitive(value):
    """Stands for a sensitive call (SQL, shell...) that a protection hooks."""
    calls.append(value)
    return value


def block_callback(instance, args, kwargs):
    """A protection in block mode: reports its attack event and stops the request."""
    if args and args[0] == "attack":
        request = wsgi.current_request()
        _blocking.raise_blocked(_events.attack_event(
            "sqli", request=request.event_dict() if request else None, blocked=True,
            source="query", name="q", value=args[0]))


@pytest.fixture
def blocking_hook():
    handle = hook((sys.modules[__name__], "sensitive"), pre=block_callback)
    del calls[:]
    yield
    handle.remove()


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_wrapping_twice_is_wrapping_once():
    wrapped = wsgi.middleware(hello)
    assert wsgi.middleware(wrapped) is wrapped
    assert wrapped.__wrapped__ is hello


def test_agent_not_running_calls_the_app_straight():
    seen = []
    result = ["body"]

    def app(environ, start_response):
        seen.append((wsgi.current_request(), start_response))
        return result

    def start_response(status, headers, exc_info=None):
        pass

    assert wsgi.middleware(app)(make_environ(), start_response) is result
    assert seen == [(None, start_response)]


def test_request_is_current_during_the_call_and_gone_after(agent):
    seen = []

    def app(environ, start_response):
        request = wsgi.current_request()
        seen.append((request.method, request.path, request.client_ip, request.environ is environ))
        return hello(environ, start_response)

    environ = make_environ("/caf\xc3\xa9", method="PUT", remote_addr="203.0.113.9")  # UTF-8 bytes, as in WSGI
    served = serve(wsgi.middleware(app), environ)
    assert served.status == "200 OK" and served.body == b"hello"
    assert seen == [("PUT", u"/caf\xe9", "203.0.113.9", True)]
    assert wsgi.current_request() is None


class Streamed(object):
    """A response iterable that records what it saw and how often it was closed."""

    def __init__(self, chunks, fail_at=None, block_at=None):
        self.chunks = chunks
        self.fail_at = fail_at
        self.block_at = block_at
        self.seen = []
        self.closes = 0

    def __iter__(self):
        for index, chunk in enumerate(self.chunks):
            self.seen.append(wsgi.current_request() is not None)
            if index == self.fail_at:
                raise ValueError("app failure")
            if index == self.block_at:
                sensitive("attack")
            yield chunk

    def close(self):
        self.closes += 1


def streaming_app(response, status="200 OK", headers=()):
    def app(environ, start_response):
        start_response(status, [("Content-Type", "text/plain")] + list(headers))
        return response

    return app


def test_streamed_response_keeps_the_request_to_the_last_chunk_and_closes_once(agent):
    response = Streamed([b"a", b"b", b"c"])
    wrapped = wsgi.middleware(streaming_app(response))(make_environ(), lambda *a: None)
    chunks = iter(wrapped)
    assert [next(chunks), next(chunks), next(chunks)] == [b"a", b"b", b"c"]
    assert wsgi.current_request() is not None  # the last chunk is being written
    assert list(chunks) == []
    assert response.seen == [True, True, True]
    assert response.closes == 1 and wsgi.current_request() is None  # over once the iteration is
    wrapped.close()
    wrapped.close()
    assert response.closes == 1


def test_a_server_that_never_closes_still_ends_the_request(agent):
    response = Streamed([b"a"])
    wrapped = wsgi.middleware(streaming_app(response))(make_environ(), lambda *a: None)
    assert list(wrapped) == [b"a"]
    assert response.closes == 1 and wsgi.current_request() is None


def test_exception_from_the_app_clears_the_request(agent):
    def app(environ, start_response):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        wsgi.middleware(app)(make_environ(), lambda *a: None)
    assert wsgi.current_request() is None


def test_exception_mid_stream_clears_the_request_on_close(agent):
    response = Streamed([b"a", b"b"], fail_at=1)
    served = serve(wsgi.middleware(streaming_app(response)), make_environ())
    assert isinstance(served.error, ValueError)
    assert served.body == b"a" and response.closes == 1
    assert wsgi.current_request() is None


def test_client_gone_mid_stream_closes_the_app_generator_and_clears_the_request(agent):
    events = []

    def app(environ, start_response):
        start_response("200 OK", [])

        def chunks():
            try:
                for n in range(10):
                    yield b"%d" % n if sys.version_info >= (3, 5) else str(n).encode()
            except GeneratorExit:
                events.append(("closed", wsgi.current_request() is not None))
                raise

        return chunks()

    served = serve(wsgi.middleware(app), make_environ(), stop_after=2)
    assert served.body == b"01"
    assert events == [("closed", True)]  # the app's generator is closed while its request is still current
    assert wsgi.current_request() is None


def test_block_inside_the_app_gives_a_403_the_app_cannot_swallow(agent, blocking_hook):
    swallowed = []

    def app(environ, start_response):
        start_response("200 OK", [("X-App", "1")])
        try:
            sensitive("attack")
        except Exception as exc:  # the app's own handler must not see the block
            swallowed.append(exc)
        return [b"secret data"]

    served = serve(wsgi.middleware(app), make_environ(query="q=attack"))
    assert swallowed == [] and served.error is None
    assert served.status == "403 Forbidden"
    assert "X-App" not in served.headers
    assert len(served.starts) == 1  # the app's status and headers never reached the server
    (event,) = agent.attacks()
    assert event["event_id"].encode() in served.body
    assert b"secret data" not in served.body and b"sqli" not in served.body
    assert served.headers["Content-Type"].startswith("text/html")
    assert wsgi.current_request() is None


def test_block_answers_json_when_the_client_prefers_it(agent, blocking_hook):
    import json

    def app(environ, start_response):
        sensitive("attack")
        return hello(environ, start_response)

    served = serve(wsgi.middleware(app), make_environ(headers={"Accept": "application/json"}))
    assert served.status == "403 Forbidden"
    assert served.headers["Content-Type"] == "application/json"
    assert json.loads(served.body.decode())["event_id"] == agent.attacks()[0]["event_id"]


def test_block_while_computing_the_first_chunk_still_gives_a_403(agent, blocking_hook):
    response = Streamed([b"never sent", b"b"], block_at=0)
    served = serve(wsgi.middleware(streaming_app(response, headers=[("X-App", "1")])), make_environ())
    assert served.error is None
    assert served.status == "403 Forbidden" and "X-App" not in served.headers
    assert agent.attacks()[0]["event_id"].encode() in served.body
    assert response.closes == 1 and wsgi.current_request() is None


def test_block_after_an_empty_first_chunk_replaces_the_status_with_exc_info(agent, blocking_hook):
    response = Streamed([b"", b"never sent"], block_at=1)
    served = serve(wsgi.middleware(streaming_app(response, headers=[("X-App", "1")])), make_environ())
    assert served.error is None and served.status == "403 Forbidden"
    assert [(start[0], start[2]) for start in served.starts] == [("200 OK", False), ("403 Forbidden", True)]
    assert response.closes == 1 and wsgi.current_request() is None


def test_the_app_calling_start_response_twice_with_exc_info_is_honoured(agent):
    def app(environ, start_response):
        start_response("200 OK", [("X-App", "1")])
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("500 Internal Server Error", [("X-Error", "1")], sys.exc_info())
        return [b"error page"]

    served = serve(wsgi.middleware(app), make_environ())
    assert served.starts == [("500 Internal Server Error", [("X-Error", "1")], False)]
    assert served.body == b"error page"


def test_the_app_calling_start_response_twice_without_exc_info_is_an_error(agent):
    def app(environ, start_response):
        start_response("200 OK", [])
        start_response("404 Not Found", [])
        return [b""]

    with pytest.raises(AssertionError):
        wsgi.middleware(app)(make_environ(), lambda *a: None)
    assert wsgi.current_request() is None


def test_start_response_called_inside_the_generator_is_passed_on_before_the_first_chunk(agent):
    def app(environ, start_response):
        def chunks():
            start_response("201 Created", [("X-Late", "1")])
            yield b"made"

        return chunks()

    served = serve(wsgi.middleware(app), make_environ())
    assert served.status == "201 Created" and served.body == b"made"


def test_empty_streamed_body_still_starts_the_response(agent):
    served = serve(wsgi.middleware(streaming_app(Streamed([]), status="204 No Content")), make_environ())
    assert served.status == "204 No Content" and served.body == b""


def test_block_after_the_first_chunk_can_only_cut_the_response(agent, blocking_hook):
    response = Streamed([b"first", b"second"], block_at=1)
    served = serve(wsgi.middleware(streaming_app(response)), make_environ())
    assert isinstance(served.error, wsgi.ResponseInterrupted)
    assert served.status == "200 OK" and served.body == b"first"
    assert len(agent.attacks()) == 1
    assert response.closes == 1 and wsgi.current_request() is None


def test_block_after_the_app_wrote_through_write_cuts_the_response(agent, blocking_hook):
    def app(environ, start_response):
        write = start_response("200 OK", [])
        write(b"early")
        sensitive("attack")
        return []

    served = serve(wsgi.middleware(app), make_environ())
    assert isinstance(served.error, wsgi.ResponseInterrupted)
    assert served.body == b"early"
    assert wsgi.current_request() is None


def test_block_in_the_response_close_is_logged_and_the_request_still_ends(agent, blocking_hook):
    class Closing(Streamed):
        def close(self):
            Streamed.close(self)
            sensitive("attack")

    response = Closing([b"a"])
    served = serve(wsgi.middleware(streaming_app(response)), make_environ())
    assert served.error is None and served.body == b"a"
    assert _log.counters().get("wsgi:blocked-in-close") == 1
    assert wsgi.current_request() is None


def test_a_bare_request_blocked_gives_a_403_without_event(agent):
    def app(environ, start_response):
        raise RequestBlocked()

    served = serve(wsgi.middleware(app), make_environ())
    assert served.status == "403 Forbidden"
    assert agent.events == []


def test_blocklisted_ip_is_blocked_before_the_app_in_block_mode(agent):
    agent.configure(mode="block", ip_blocklist="203.0.113.0/24")
    called = []

    def app(environ, start_response):
        called.append(1)
        return hello(environ, start_response)

    served = serve(wsgi.middleware(app), make_environ(headers={"X-Forwarded-For": "203.0.113.50"}))
    assert called == [] and served.status == "403 Forbidden"
    (event,) = agent.attacks()
    assert event["blocked"] is True and event["rule"] == "ip_blocklist"
    assert event["request"]["client_ip"] == "203.0.113.50"
    assert event["event_id"].encode() in served.body


def test_blocklisted_ip_is_only_reported_in_monitor_mode(agent):
    agent.configure(mode="monitor", ip_blocklist="203.0.113.0/24")
    served = serve(wsgi.middleware(hello), make_environ(remote_addr="203.0.113.50"))
    assert served.status == "200 OK"
    (event,) = agent.attacks()
    assert event["blocked"] is False


def test_other_ips_pass_the_blocklist(agent):
    agent.configure(mode="block", ip_blocklist="203.0.113.0/24")
    served = serve(wsgi.middleware(hello), make_environ(remote_addr="198.51.100.1"))
    assert served.status == "200 OK" and agent.events == []


def test_allowlisted_ip_skips_every_protection(agent, blocking_hook):
    agent.configure(mode="block", ip_allowlist="198.51.100.7", ip_blocklist="198.51.100.0/24")
    seen = []

    def app(environ, start_response):
        seen.append(wsgi.current_request().allowlisted)
        start_response("200 OK", [])

        def chunks():
            yield sensitive("attack").encode()
            yield sensitive("attack").encode()

        return chunks()

    served = serve(wsgi.middleware(app), make_environ(remote_addr="198.51.100.7"))
    assert served.status == "200 OK" and served.body == b"attackattack"
    assert seen == [True] and agent.events == []


def test_the_time_budget_is_open_for_the_request_only(agent, monkeypatch):
    monkeypatch.setattr(_budget, "wanted", [True])  # some callback is interruptible
    agent.configure(performance_budget_ms="7")
    seen = []

    def app(environ, start_response):
        seen.append(budget.current().limit)
        return hello(environ, start_response)

    serve(wsgi.middleware(app), make_environ())
    assert seen == [0.007]
    assert budget.current() is None


@pytest.mark.parametrize("interruptible, limit", [(False, "7"), (True, "0")],
                         ids=["no-interruptible-callback", "limit-zero"])
def test_no_budget_when_it_would_skip_nothing(agent, monkeypatch, interruptible, limit):
    monkeypatch.setattr(_budget, "wanted", [interruptible])  # whether some callback is interruptible
    agent.configure(performance_budget_ms=limit)
    seen = []

    def app(environ, start_response):
        seen.append(budget.current())
        return hello(environ, start_response)

    serve(wsgi.middleware(app), make_environ())
    assert seen == [None]


def test_nested_middlewares_share_one_request(agent):
    seen = []

    def inner(environ, start_response):
        seen.append(wsgi.current_request())
        return hello(environ, start_response)

    wrapped_inner = wsgi.middleware(inner)

    def outer(environ, start_response):
        seen.append(wsgi.current_request())
        result = wrapped_inner(environ, start_response)
        seen.append(wsgi.current_request())
        return result

    serve(wsgi.middleware(outer), make_environ())
    assert len(seen) == 3 and seen[0] is not None and seen[0] is seen[1] is seen[2]
    assert wsgi.current_request() is None


def test_a_file_wrapper_response_is_returned_as_is(agent):
    class FileWrapper(object):
        def __init__(self, f, size=8192):
            self.f = f

        def __iter__(self):
            return iter([self.f.read()])

    response = []

    def app(environ, start_response):
        start_response("200 OK", [])
        response.append(environ["wsgi.file_wrapper"](__import__("io").BytesIO(b"file")))
        return response[0]

    environ = make_environ()
    environ["wsgi.file_wrapper"] = FileWrapper
    assert wsgi.middleware(app)(environ, lambda *a: None) is response[0]
    assert wsgi.current_request() is None


def test_agent_failure_at_request_start_serves_the_app_unprotected(agent, monkeypatch):
    from sqreen import _request

    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(_request, "Request", broken)  # breaks the set-up
    served = serve(wsgi.middleware(hello), make_environ())
    assert served.status == "200 OK" and served.body == b"hello"
    assert _log.counters().get("wsgi:begin") == 1


def test_concurrent_threads_each_see_their_own_request(agent):
    both_in = threading.Barrier(2, timeout=30) if hasattr(threading, "Barrier") else None
    arrived = threading.Semaphore(0)
    release = threading.Event()
    results = {}

    def app(environ, start_response):
        mine = environ["QUERY_STRING"]
        if both_in is not None:
            both_in.wait()
        else:
            arrived.release()
            release.wait(30)
        results[mine] = wsgi.current_request().query
        return hello(environ, start_response)

    wrapped = wsgi.middleware(app)
    threads = [threading.Thread(target=serve, args=(wrapped, make_environ(query="id=%d" % n)))
               for n in (1, 2)]
    for thread in threads:
        thread.start()
    if both_in is None:
        arrived.acquire()
        arrived.acquire()
        release.set()
    for thread in threads:
        thread.join(30)
    assert results == {"id=1": {"id": ["1"]}, "id=2": {"id": ["2"]}}


@pytest.fixture
def end_breaks(monkeypatch):
    """Makes ending a request fail the way it can (closing the budget, restoring the previous request)."""
    from sqreen import _request

    def install(part):
        def broken(*args):
            raise RuntimeError("broken on purpose")

        if part == "activate":
            real = _request.activate

            def activate(value):  # setting up a request works; restoring the one before (none) fails
                if value is None:
                    broken()
                return real(value)

            monkeypatch.setattr(_request, "activate", activate)
        else:
            monkeypatch.setattr(_budget, "wanted", [True])
            monkeypatch.setattr(budget, "stop", broken)

    return install


@pytest.mark.parametrize("part", ["activate", "budget"])
def test_an_error_ending_the_request_is_logged_once_and_the_response_goes_out(agent, end_breaks, part):
    agent.configure(performance_budget_ms="50")
    end_breaks(part)
    served = serve(wsgi.middleware(hello), make_environ())
    assert served.status == "200 OK" and served.body == b"hello" and served.error is None
    assert _log.counters() == {"wsgi:end": 1}


def test_serving_leaves_no_reference_behind(agent):
    """What the server and the app hand over is let go once the request is over (no leak in C)."""
    import gc

    class Body(object):
        def __iter__(self):
            return iter([b"a", b"b"])

        def close(self):
            pass

    body = Body()
    environ = make_environ()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    def start_response(status, headers, exc_info=None):
        return lambda data: None

    wrapped = wsgi.middleware(app)

    def one():
        result = wrapped(environ, start_response)
        chunks = list(result)
        result.close()
        assert chunks == [b"a", b"b"]

    one()
    gc.collect()
    before = (sys.getrefcount(body), sys.getrefcount(environ), sys.getrefcount(start_response))
    objects = len(gc.get_objects())
    for _ in range(200):
        one()
    gc.collect()
    assert (sys.getrefcount(body), sys.getrefcount(environ), sys.getrefcount(start_response)) == before
    assert len(gc.get_objects()) - objects < 50


@pytest.mark.skipif(sys.version_info < (3,), reason="no signatures of builtins on Python 2")
def test_serve_has_its_documented_signature():
    import inspect

    names = ["app", "environ", "start_response", "route_reader"]
    assert list(inspect.signature(wsgi.serve).parameters) == names
