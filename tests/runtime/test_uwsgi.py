"""uWSGI option checks: the pure function, the deferred check, and a real uWSGI under sqreen-start."""
import os
import socket
import subprocess
import sys
import time

import pytest

from sqreen import _uwsgi
from tests.helpers import ROOT, run_python

GOOD = {
    "enable-threads": True, "single-interpreter": True, "py-call-osafterfork": True,
    "master": True, "lazy-apps": True,
}


def missing(warnings):
    """The option each warning asks for."""
    names = ("--enable-threads", "--single-interpreter", "--py-call-osafterfork", "--lazy-apps")
    return [next(n for n in names if ("add " + n) in w) for w in warnings]


def test_all_requirements_met():
    assert _uwsgi.check(GOOD) == []


def test_nothing_set_warns_for_each_requirement_but_lazy_apps():
    assert missing(_uwsgi.check({})) == ["--enable-threads", "--single-interpreter", "--py-call-osafterfork"]


def test_master_without_lazy_apps_explains_postfork():
    opt = dict(GOOD)
    del opt["lazy-apps"]
    warnings = _uwsgi.check(opt)
    assert missing(warnings) == ["--lazy-apps"]
    assert "uwsgidecorators.postfork" in warnings[0] and "sqreen.start()" in warnings[0]


@pytest.mark.parametrize("key,value", [("lazy-apps", b"true"), ("lazy", True), ("lazy-apps", b"1")])
def test_lazy_spellings(key, value):
    opt = {"master": True, key: value, "enable-threads": True, "single-interpreter": True,
           "py-call-osafterfork": True}
    assert _uwsgi.check(opt) == []


@pytest.mark.parametrize("value", [False, b"false", b"0", "", b"off", None])
def test_false_values_count_as_missing(value):
    opt = dict(GOOD, **{"single-interpreter": value})
    assert missing(_uwsgi.check(opt)) == ["--single-interpreter"]


def test_threads_option_enables_threads():
    opt = dict(GOOD, threads=b"4")
    del opt["enable-threads"]
    assert _uwsgi.check(opt) == []
    opt["threads"] = b"zero"
    assert missing(_uwsgi.check(opt)) == ["--enable-threads"]


def test_bytes_keys_and_repeated_options():
    opt = dict((k.encode(), v) for k, v in GOOD.items())
    opt[b"master"] = [b"true", b"true"]
    assert _uwsgi.check(opt) == []


def test_every_warning_is_one_line():
    assert all("\n" not in w for w in _uwsgi.check({"master": True}))


@pytest.mark.parametrize("argv,expected", [
    (["uwsgi", "--ini", "x.ini"], True), (["/usr/bin/uwsgi-core"], True), (["/venv/bin/uWSGI"], True),
    (["gunicorn"], False), ([], False), (["python", "uwsgi"], False),
])
def test_is_uwsgi_command(argv, expected):
    assert _uwsgi.is_uwsgi_command(argv) is expected


def test_runtime_checks_at_start_when_the_module_exists():
    _, out, err = run_python("""
        import sys, types
        fake = types.ModuleType("uwsgi")
        fake.opt = {"master": True, "enable-threads": True}
        sys.modules["uwsgi"] = fake
        import sqreen
        sqreen.start()
        """)
    assert missing([line for line in err.splitlines() if "uWSGI runs" in line]) == [
        "--single-interpreter", "--py-call-osafterfork", "--lazy-apps"], err


def test_check_waits_for_the_module_when_started_early():
    """As under sqreen-start: the agent starts before uWSGI has made its module."""
    _, out, err = run_python("""
        import sys, types
        from sqreen import _uwsgi
        seen = []
        assert _uwsgi.when_options_known(seen.append, ["/usr/bin/uwsgi", "--http", ":80"])
        import colorsys  # an import before the module exists: nothing yet
        before = list(seen)
        fake = types.ModuleType("uwsgi")
        fake.opt = {"master": True}
        sys.modules["uwsgi"] = fake
        import wave
        import colorsys, wave, sys
        left = [w.callback for w in sys.meta_path if type(w).__name__ == "_Watcher"]
        print("%s %s %s" % (before, seen, left))
        """)
    assert out.strip() == "[] [{'master': True}] [None]", err


def test_not_uwsgi_nothing_happens():
    seen = []
    before = list(sys.meta_path)
    assert _uwsgi.when_options_known(seen.append, ["gunicorn"]) is False
    assert seen == [] and sys.meta_path == before


# --- a real uWSGI, when installed next to this interpreter -------------------------------------------

UWSGI = os.path.join(os.path.dirname(sys.executable), "uwsgi")
APP = """
import colorsys


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def need_uwsgi():
    if os.path.exists(UWSGI):
        return
    reason = "uwsgi is not installed for this interpreter (pip install uwsgi)"
    # tox installs uwsgi for py311 only: there, under CI, its absence is a failure.
    if os.environ.get("CI", "").lower() == "true" and sys.version_info[:2] == (3, 11):
        pytest.fail(reason)
    pytest.skip(reason)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _fetch(port):
    """One HTTP/1.0 GET of ``/``: the whole answer, read until the server closes (it may come in pieces)."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        conn.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        chunks = []
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        conn.close()


def run_uwsgi(tmpdir, options):
    """Start uWSGI under sqreen-start, fetch one page, stop it; return (page, log)."""
    tmpdir.join("app.py").write(APP)
    log = tmpdir.join("uwsgi.log")
    port = free_port()
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "PYTHON")))
    env["PYTHONPATH"] = ROOT
    env["SQREEN_EVENTS_FILE"] = str(tmpdir.join("events.jsonl"))
    cmd = [sys.executable, "-c", "import sys; from sqreen._cli import start_main; sys.exit(start_main())",
           UWSGI, "--http-socket", "127.0.0.1:%d" % port, "--wsgi-file", "app.py", "--processes", "1",
           "--die-on-term", "--logto", str(log)] + options
    proc = subprocess.Popen(cmd, cwd=str(tmpdir), env=env)
    page = None
    try:
        deadline = time.time() + 60  # a bound on waiting for start-up, not a measurement
        while page is None and time.time() < deadline and proc.poll() is None:
            try:
                page = _fetch(port) or None  # nothing: the worker closed the connection; try again
            except socket.error:
                pass
            if page is None:
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait()
    return page, log.read()


def test_real_uwsgi_logs_the_missing_options(tmpdir):
    need_uwsgi()
    page, log = run_uwsgi(tmpdir, ["--master"])
    assert page is not None and page.endswith(b"ok"), log
    warnings = [line for line in log.splitlines() if line.startswith("sqreen: uWSGI runs")]
    assert missing(warnings) == [
        "--enable-threads", "--single-interpreter", "--py-call-osafterfork", "--lazy-apps"], log


def test_real_uwsgi_with_the_right_options_is_quiet(tmpdir):
    need_uwsgi()
    page, log = run_uwsgi(tmpdir, ["--master", "--lazy-apps", "--enable-threads", "--single-interpreter",
                                   "--py-call-osafterfork"])
    assert page is not None and page.endswith(b"ok"), log
    assert "sqreen: uWSGI" not in log
    assert "Traceback" not in log
