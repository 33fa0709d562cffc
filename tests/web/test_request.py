# -*- coding: utf-8 -*-
"""The request object: lazy decoding, a body the app still reads whole, the inputs, context storage."""
import io
import sys
import threading

import pytest

from sqreen import _request, _request_parse
from sqreen._request import Request
from tests.web.conftest import make_environ

MULTIPART = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="title"\r\n\r\n'
    b"caf\xc3\xa9 ' OR 1=1\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="upload"; filename="../../etc/passwd"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
    b"\x00\x01binary--XyZ-not-a-boundary\r\n"
    b"--XyZ\r\n"
    b"Content-Disposition: form-data; name=\"doc\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\n"
    b"pdf\r\n"
    b"--XyZ--\r\n"
)


class CountingInput(object):
    """A server's input stream that records how it is read."""

    def __init__(self, data):
        self.stream = io.BytesIO(data)
        self.reads = []

    def read(self, size=-1):
        data = self.stream.read(size)
        self.reads.append(len(data))
        return data

    def readline(self, size=-1):
        data = self.stream.readline(size)
        self.reads.append(len(data))
        return data


def request_for(body=None, **kwargs):
    environ = make_environ(body=body, **kwargs)
    if body is not None:
        environ["wsgi.input"] = environ["test.input"] = CountingInput(body)
    return Request(environ), environ


def test_basic_fields():
    request, _ = request_for(path="/a%20b/caf\xc3\xa9", method="POST", query="x=1",
                             headers={"Host": "example.com:8080"})
    assert (request.method, request.scheme, request.host, request.path) == \
        ("POST", "http", "example.com:8080", u"/a%20b/caf\xe9")
    assert request.route is None and request.path_params == {}
    request.set_route("/items/<id>", {"id": "7"})
    assert request.route == "/items/<id>" and request.path_params == {"id": "7"}


def test_host_without_a_host_header():
    environ = make_environ()
    del environ["HTTP_HOST"]
    environ.update(SERVER_NAME="srv", SERVER_PORT="80")
    assert Request(environ).host == "srv"
    environ["SERVER_PORT"] = "8000"
    assert Request(environ).host == "srv:8000"


def test_query_decoded_as_the_frameworks_do():
    request, _ = request_for(query="id=1%20OR%201%3D1&id=2&name=caf%C3%A9&empty=&bad=%FF&plus=a+b")
    assert request.query == {"id": [u"1 OR 1=1", u"2"], "name": [u"caf\xe9"], "empty": [u""],
                             "bad": [u"\ufffd"], "plus": [u"a b"]}


def test_headers_and_cookies():
    request, _ = request_for(headers={"Cookie": 'sid=abc; theme="dark"; sid=second; flag',
                                      "User-Agent": "curl/8", "X-Custom": "v"},
                             body=b"{}", content_type="application/json")
    assert request.cookies == {"sid": "abc", "theme": "dark", "flag": ""}
    headers = request.headers
    assert headers["user-agent"] == "curl/8" and headers["x-custom"] == "v"
    assert headers["content-type"] == "application/json" and headers["content-length"] == "2"


def test_header_names_from_many_distinct_keys(monkeypatch):
    # The environ-key -> header-name memo is bounded: clients choose header names.
    monkeypatch.setattr(_request, "_HEADER_NAMES", {})
    monkeypatch.setattr(_request, "_MAX_HEADER_NAMES", 8)
    environ = make_environ()
    environ.update(("HTTP_X_N%d" % i, str(i)) for i in range(50))
    environ.update(HTTP_X_EMPTY="", CONTENT_TYPE="", CONTENT_LENGTH="")
    for _ in range(2):  # memo cold, then warm
        headers = Request(environ).headers
        assert headers["x-n49"] == "49" and headers["x-n0"] == "0"
        assert headers["x-empty"] == ""  # an empty header is still a header...
        assert "content-type" not in headers and "content-length" not in headers  # ...an unset CGI key is not
    assert len(_request._HEADER_NAMES) == 8


def test_inputs_of_a_request_without_query_body_or_cookies():
    request, _ = request_for(headers={"User-Agent": "curl/8"})
    assert [i for i in request.inputs() if i[0] != "header"] == []
    assert ("header", "user-agent", "curl/8") in request.inputs()


def test_header_inputs_are_sorted_by_name_and_a_header_under_two_keys_counts_twice():
    environ = make_environ()
    environ.update(HTTP_X_B="b", HTTP_X_A="a", HTTP_COOKIE="sid=1", CONTENT_LENGTH="", CONTENT_TYPE="text/x",
                   HTTP_CONTENT_TYPE="text/y")
    for _ in range(2):  # the environ's layout met first, then known
        headers = [item for item in Request(environ).inputs() if item[0] == "header"]
        names = [name for _, name, _ in headers]
        assert names == sorted(names) and "cookie" not in names and "content-length" not in names
        types = [value for _, name, value in headers if name == "content-type"]
        assert sorted(types) == ["text/x", "text/y"]
        assert ("header", "x-a", "a") in headers and ("header", "x-b", "b") in headers


def test_nothing_is_read_until_asked_for():
    request, environ = request_for(body=b"a=1", content_type="application/x-www-form-urlencoded")
    assert environ["test.input"].reads == []
    assert request.form == {"a": ["1"]}
    assert environ["test.input"].reads == [3]
    assert request.form == {"a": ["1"]}  # cached
    assert environ["test.input"].reads == [3]


def test_a_request_without_body_keeps_the_servers_input():
    environ = make_environ()
    original = environ["wsgi.input"]
    request = Request(environ)
    assert environ["wsgi.input"] is original
    assert request.body is None and request.form == {} and request.json is None


def test_urlencoded_form_then_the_app_reads_the_same_bytes():
    body = u"user=admin&pass=x%27+OR+%271%27%3D%271&note=caf\xe9".encode("utf-8")
    request, environ = request_for(body=body, content_type="application/x-www-form-urlencoded; charset=utf-8")
    assert request.form == {"user": [u"admin"], "pass": [u"x' OR '1'='1"], "note": [u"caf\xe9"]}
    assert environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])) == body
    assert environ["wsgi.input"].read(10) == b""


def test_the_app_read_part_of_the_body_before_the_agent():
    body = b"line one\nline two\nline three\n"
    request, environ = request_for(body=body, content_type="application/x-www-form-urlencoded")
    stream = environ["wsgi.input"]
    assert stream.readline() == b"line one\n"
    assert request.body == body
    assert stream.read() == b"line two\nline three\n"


def test_the_app_read_the_whole_body_before_the_agent():
    body = b'{"a": 1}'
    request, environ = request_for(body=body, content_type="application/json")
    assert b"".join(environ["wsgi.input"]) == body  # iterating lines, as some apps do
    reads = list(environ["test.input"].reads)
    assert request.json == {"a": 1}
    assert environ["test.input"].reads == reads  # nothing more read from the server


def test_a_body_the_app_reads_with_readinto_is_copied():
    # Werkzeug 2.3+ reads form bodies with readinto() when the stream has it.
    body = b"user=x%27+OR+1%3D1&b=2"
    request, environ = request_for(body=body, content_type="application/x-www-form-urlencoded")
    environ["test.input"].readinto = environ["test.input"].stream.readinto
    buf = bytearray(5)
    assert environ["wsgi.input"].readinto(buf) == 5 and bytes(buf) == body[:5]
    assert request.form == {"user": [u"x' OR 1=1"], "b": [u"2"]}
    buf = bytearray(100)
    size = environ["wsgi.input"].readinto(buf)
    assert bytes(buf[:size]) == body[5:]
    assert environ["wsgi.input"].read() == b""


def test_readinto_on_a_server_stream_that_only_has_read():
    body = b"a=1&b=2"
    request, environ = request_for(body=body, content_type="application/x-www-form-urlencoded")
    assert not hasattr(environ["test.input"], "readinto")
    buf = bytearray(3)
    assert environ["wsgi.input"].readinto(buf) == 3 and bytes(buf) == b"a=1"
    assert request.form == {"a": [u"1"], "b": [u"2"]}
    assert environ["wsgi.input"].read() == b"&b=2"


def test_the_agent_leaves_a_body_read_in_ways_it_does_not_copy():
    body = b"a=1&b=2"
    request, environ = request_for(body=body, content_type="application/x-www-form-urlencoded")
    environ["test.input"].read1 = environ["test.input"].stream.read1
    assert environ["wsgi.input"].read1(3) == b"a=1"
    assert request.body is None and request.form == {}
    assert environ["wsgi.input"].read() == b"&b=2"


def test_a_body_that_fails_to_read_gives_no_body_and_no_error():
    class Failing(CountingInput):
        def read(self, size=-1):
            raise IOError("client gone")

    environ = make_environ(body=b"a=1", content_type="application/x-www-form-urlencoded")
    environ["wsgi.input"] = Failing(b"a=1")
    request = Request(environ)
    assert request.body is None and request.form == {}
    from sqreen import _log

    assert _log.counters().get("request:body") == 1
    with pytest.raises(IOError):
        environ["wsgi.input"].read()


def test_current_inputs():
    assert _request.current_inputs() == ()
    request, _ = request_for(query="a=1")
    _request.activate(request)
    assert ("query", "a", "1") in _request.current_inputs()


def test_the_agent_reads_no_more_than_content_length():
    environ = make_environ(body=b"abc", content_type="application/x-www-form-urlencoded")
    server_input = environ["wsgi.input"] = CountingInput(b"abcEXTRA")  # a pipelined request behind
    request = Request(environ)
    assert request.body == b"abc"
    assert environ["wsgi.input"].read() == b"abc"
    assert server_input.read() == b"EXTRA"


def test_chunked_body_without_length_is_not_read():
    environ = make_environ(body=b"a=1", content_type="application/x-www-form-urlencoded", length=False)
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    original = environ["wsgi.input"]
    request = Request(environ)
    assert request.body is None and request.form == {}
    assert environ["wsgi.input"] is original and original.read() == b"a=1"


def test_a_body_over_the_bound_is_not_read(monkeypatch):
    monkeypatch.setattr(_request, "MAX_BODY_BYTES", 4)
    request, environ = request_for(body=b"a=12345", content_type="application/x-www-form-urlencoded")
    assert request.body is None and request.form == {}
    assert environ["wsgi.input"].read() == b"a=12345"


def test_bad_content_length_is_not_read():
    request, environ = request_for(body=b"a=1", content_type="application/x-www-form-urlencoded")
    environ["CONTENT_LENGTH"] = "nope"
    request = Request(environ)
    assert request.body is None


def test_a_short_body_gives_what_came():
    environ = make_environ(body=b"a=1", content_type="application/x-www-form-urlencoded")
    environ["CONTENT_LENGTH"] = "10"  # the client went away early
    request = Request(environ)
    assert request.body == b"a=1"


def test_multipart_fields_and_file_names():
    request, environ = request_for(body=MULTIPART, content_type='multipart/form-data; boundary="XyZ"')
    assert request.form == {"title": [u"caf\xe9 ' OR 1=1"]}
    assert request.files == {"upload": [u"../../etc/passwd"], "doc": [u"r\xe9sum\xe9.pdf"]}
    assert environ["wsgi.input"].read() == MULTIPART


def test_multipart_without_boundary_or_broken():
    request, _ = request_for(body=MULTIPART, content_type="multipart/form-data")
    assert request.form == {} and request.files == {}
    request, _ = request_for(body=b"--XyZ\r\nno headers end",
                             content_type="multipart/form-data; boundary=XyZ")
    assert request.form == {}


def test_json_body():
    body = u'{"user": {"name": "caf\xe9", "tags": ["a", {"deep": "1 OR 1=1"}]}, "n": 3}'.encode("utf-8")
    request, _ = request_for(body=body, content_type="application/json; charset=utf-8")
    assert request.json == {"user": {"name": u"caf\xe9", "tags": ["a", {"deep": "1 OR 1=1"}]}, "n": 3}
    request, _ = request_for(body=b'{"a": 1}', content_type="application/vnd.api+json")
    assert request.json == {"a": 1}
    request, _ = request_for(body=b'{"a": ', content_type="application/json")
    assert request.json is None
    request, _ = request_for(body=b'\xff{}', content_type="application/json")
    assert request.json is None
    request, _ = request_for(body=b'{"a": 1}', content_type="text/plain")
    assert request.json is None


def test_inputs_flatten_every_source_once():
    body = b'{"q": ["x", {"k": "1 OR 1=1"}], "n": 5, "t": true}'
    request, _ = request_for(body=body, content_type="application/json", query="id=1%20OR%201%3D1",
                             headers={"Cookie": "sid=abc", "User-Agent": "ua"})
    request.set_route("/u/<name>", {"name": "bob"})
    inputs = request.inputs()
    assert ("query", "id", "1 OR 1=1") in inputs
    assert ("json", "q.0", "x") in inputs and ("json", "q.1.k", "1 OR 1=1") in inputs
    assert ("json", "n", 5) in inputs  # numbers too (protections look for their decimal form)
    assert not [i for i in inputs if i[:2] == ("json", "t")]  # booleans carry nothing
    assert ("path", "name", "bob") in inputs
    assert ("cookie", "sid", "abc") in inputs
    assert ("header", "user-agent", "ua") in inputs
    assert not [i for i in inputs if i[:2] == ("header", "cookie")]
    assert request.inputs() is inputs  # cached per request


def test_inputs_of_a_form():
    request, _ = request_for(body=MULTIPART, content_type="multipart/form-data; boundary=XyZ", query="a=1")
    inputs = request.inputs()
    assert ("form", "title", u"caf\xe9 ' OR 1=1") in inputs
    assert ("filename", "upload", "../../etc/passwd") in inputs
    assert ("query", "a", "1") in inputs


def test_inputs_are_bounded_in_depth_and_number(monkeypatch):
    deep = "x"
    for _ in range(100):
        deep = [deep]
    out = _request_parse.flatten("json", u"", {"deep": deep, "flat": ["v"] * 10}, [], 5)
    assert len(out) == 5 and all(item[2] == "v" for item in out)
    assert _request_parse.flatten("json", u"", deep, [], 100) == []  # deeper than MAX_DEPTH: dropped


def test_event_dict():
    request, _ = request_for(path="/login", method="POST", headers={"User-Agent": "ua", "X-Request-Id": "r1"},
                             remote_addr="203.0.113.1")
    assert request.event_dict() == {"method": "POST", "path": "/login", "route": None,
                                    "client_ip": "203.0.113.1", "user_agent": "ua", "request_id": "r1"}
    request, _ = request_for()
    assert len(request.request_id) == 32 and request.request_id == request.event_dict()["request_id"]


def test_header_params():
    assert _request_parse.header_params('form-data; name="a;b"; filename="x\\"y.txt"') == \
        ("form-data", {"name": "a;b", "filename": 'x"y.txt'})
    assert _request_parse.header_params("text/HTML; Charset=utf-8") == ("text/html", {"charset": "utf-8"})
    assert _request_parse.header_params("") == ("", {})


def test_threads_see_their_own_request():
    seen = {}
    ready = threading.Event()

    def other():
        seen["before"] = _request.current()
        _request.activate("other")
        seen["after"] = _request.current()
        ready.set()

    _request.activate("main")
    thread = threading.Thread(target=other)
    thread.start()
    thread.join(30)
    assert seen == {"before": None, "after": "other"}
    assert _request.current() == "main"


@pytest.mark.skipif(sys.version_info[0] == 2, reason="no asyncio on Python 2.7")
@pytest.mark.xfail(sys.version_info < (3, 7), strict=True,
                   reason="Python 3.6 has no contextvars: the thread-local is shared by the loop's tasks")
def test_asyncio_tasks_see_their_own_request():
    from tests.web import _asyncio_cases

    assert _asyncio_cases.tasks_isolated() == ["a", "b"]
