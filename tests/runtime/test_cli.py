"""The ``sqreen`` command: usage, version, events dispatch, doctor."""
import os
import socket
import sys
import threading
import types

import pytest

import sqreen
from sqreen import _cli, _cli_events, _config, _integrations, _uwsgi  # noqa: F401 (before chdir: 2.7)
from sqreen.bootstrap import sitecustomize  # noqa: F401
from tests.helpers import run_python

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # Python 2
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmpdir):
    for name in list(os.environ):
        if name.startswith("SQREEN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(str(tmpdir))


def doctor(capsys, *args):
    rc = _cli.main(["doctor"] + list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def section(out, title):
    """The indented lines under ``title:`` in doctor's output."""
    lines = out.splitlines()
    start = lines.index(title + ":") + 1
    body = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        body.append(line.strip())
    return body


def test_no_arguments_prints_usage_and_exits_2(capsys):
    assert _cli.main([]) == 2
    assert capsys.readouterr()[1].startswith("usage: sqreen <command>")


def test_help_and_version(capsys):
    assert _cli.main(["--help"]) == 0
    assert "doctor" in capsys.readouterr()[0]
    assert _cli.main(["version"]) == 0
    assert capsys.readouterr()[0].strip() == sqreen.__version__


def test_unknown_command(capsys):
    assert _cli.main(["frobnicate"]) == 2
    assert capsys.readouterr()[1].startswith("sqreen: unknown command 'frobnicate'")


def test_events_dispatches_to_cli_events(monkeypatch):
    calls = []
    fake = types.ModuleType("sqreen._cli_events")
    fake.main = lambda argv: calls.append(argv) or 3
    monkeypatch.setitem(sys.modules, "sqreen._cli_events", fake)
    monkeypatch.setattr(sqreen, "_cli_events", fake, raising=False)
    assert _cli.main(["events", "tail", "-n", "5"]) == 3
    assert calls == [["tail", "-n", "5"]]


def test_console_script_entry_point_runs_as_a_process():
    rc, out, err = run_python("import sys; from sqreen._cli import main; sys.exit(main(['version']))")
    assert out.strip() == sqreen.__version__


def test_doctor_clean_config(capsys, tmpdir):
    rc, out, err = doctor(capsys)
    assert rc == 0, out
    assert section(out, "versions")[0].startswith("python %d.%d" % sys.version_info[:2])
    assert "sqreen %s at " % sqreen.__version__ in section(out, "versions")[1]
    config = section(out, "configuration")
    assert config[0].startswith("file: none")
    assert any(line.startswith("mode") and "monitor" in line and "[default]" in line for line in config)
    assert section(out, "events file") == ["%s: writable" % tmpdir.join("sqreen-events.jsonl")]
    assert section(out, "backend") == ["no url set (events go to the events file)"]
    assert section(out, "uwsgi")[0].startswith("not running under uWSGI")


def test_doctor_says_where_each_value_came_from_and_masks_secrets(capsys, tmpdir, monkeypatch):
    tmpdir.join("sqreen.ini").write("[sqreen]\nmode = block\ntoken = file-secret-token\n")
    monkeypatch.setenv("SQREEN_APP_NAME", "shop")
    rc, out, err = doctor(capsys)
    assert rc == 0
    config = section(out, "configuration")
    assert config[0] == "file: %s" % tmpdir.join("sqreen.ini")
    line = dict((text.split()[0], text) for text in config[1:])
    assert "block" in line["mode"] and line["mode"].endswith("[file %s]" % tmpdir.join("sqreen.ini"))
    assert "shop" in line["app_name"] and line["app_name"].endswith("[env SQREEN_APP_NAME]")
    assert "file-secret-token" not in out and "fi***" in line["token"]


def test_doctor_config_error_exits_2(capsys, monkeypatch):
    monkeypatch.setenv("SQREEN_QUEUE_SIZE", "many")
    rc, out, err = doctor(capsys)
    assert rc == 2
    error = "ERROR env SQREEN_QUEUE_SIZE: queue_size='many': expected an integer"
    assert error in section(out, "configuration")


def test_doctor_unwritable_events_file_exits_1(capsys, monkeypatch, tmpdir):
    monkeypatch.setenv("SQREEN_EVENTS_FILE", str(tmpdir.join("missing-dir", "events.jsonl")))
    rc, out, err = doctor(capsys)
    assert rc == 1
    expected = "NOT WRITABLE: directory %s does not exist" % tmpdir.join("missing-dir")
    assert expected in section(out, "events file")[0]


def test_events_file_problems(tmpdir):
    assert _cli.events_file_problem(str(tmpdir)) == "is a directory"
    assert _cli.events_file_problem(str(tmpdir.join("new.jsonl"))) is None
    tmpdir.join("old.jsonl").write("")
    assert _cli.events_file_problem(str(tmpdir.join("old.jsonl"))) is None


class Handler(BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()
    yield "http://127.0.0.1:%d/ingest" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_doctor_backend_reachable(capsys, monkeypatch, http_server):
    monkeypatch.setenv("SQREEN_URL", http_server)
    rc, out, err = doctor(capsys)
    assert rc == 0, out
    assert section(out, "backend") == ["%s: reachable (HTTP 204)" % http_server]
    assert section(out, "events file") == ["not used (events go to the backend url)"]


def test_doctor_backend_unreachable_exits_1(capsys, monkeypatch):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    monkeypatch.setenv("SQREEN_URL", "http://user:pw@127.0.0.1:%d/" % port)
    rc, out, err = doctor(capsys)
    assert rc == 1
    backend = section(out, "backend")[0]
    assert backend.startswith("http://***@127.0.0.1:%d/: UNREACHABLE" % port) and "pw" not in backend


def test_doctor_lists_integrations_without_importing_them(capsys, monkeypatch, tmpdir):
    tmpdir.join("fakefw_doctor.py").write("raise RuntimeError('imported!')\n")
    monkeypatch.syspath_prepend(str(tmpdir))
    monkeypatch.setattr(_integrations, "INTEGRATIONS", (
        ("fakefw_doctor", "sqreen.integrations.fakefw:patch", "fakefw-doctor"),
        ("six.moves", "sqreen.integrations.six:patch", "six"),
        ("no_such_framework_here", "sqreen.integrations.nsf:patch", "no-such-framework"),
        ("json", "sqreen.integrations.json:patch", None),
    ))
    rc, out, err = doctor(capsys)
    assert rc == 0
    lines = section(out, "integrations")
    import six
    assert lines == [
        "fakefw_doctor: will activate (fakefw-doctor ?) -> sqreen.integrations.fakefw:patch",
        "six.moves: will activate (six %s) -> sqreen.integrations.six:patch" % six.__version__,
        "no_such_framework_here: not installed",
        "json: will activate (Python %s) -> sqreen.integrations.json:patch"
        % ".".join(map(str, sys.version_info[:3])),
    ]
    assert "fakefw_doctor" not in sys.modules


def test_doctor_with_the_empty_table(capsys, monkeypatch):
    monkeypatch.setattr(_integrations, "INTEGRATIONS", ())
    rc, out, err = doctor(capsys)
    assert section(out, "integrations") == ["none defined in this version"]


def test_doctor_sitecustomize_chain(capsys, monkeypatch, tmpdir):
    first, second = tmpdir.mkdir("a"), tmpdir.mkdir("b")
    first.join("sitecustomize.py").write("")
    second.join("sitecustomize.py").write("")
    monkeypatch.setattr(sys, "path", [str(first), str(tmpdir.join("none")), str(second)] + sys.path)
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    rc, out, err = doctor(capsys)
    chain = section(out, "sitecustomize chain")
    assert chain[:2] == ["runs: %s" % first.join("sitecustomize.py"),
                         "shadowed: %s" % second.join("sitecustomize.py")]


def test_doctor_under_sqreen_start_shows_the_bootstrap(capsys, monkeypatch):
    from sqreen.bootstrap import DIRECTORY

    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != DIRECTORY])
    monkeypatch.setenv("PYTHONPATH", DIRECTORY)
    rc, out, err = doctor(capsys)
    assert section(out, "sitecustomize chain")[0].startswith("sqreen bootstrap on PYTHONPATH: %s" % DIRECTORY)


def test_doctor_uwsgi_checks_when_under_uwsgi(capsys, monkeypatch):
    fake = types.ModuleType("uwsgi")
    fake.opt = {"master": True}
    monkeypatch.setitem(sys.modules, "uwsgi", fake)
    rc, out, err = doctor(capsys)
    assert rc == 1
    assert len(section(out, "uwsgi")) == 4


def test_doctor_takes_no_arguments(capsys):
    assert _cli.main(["doctor", "--verbose"]) == 2


def test_which(tmpdir):
    tool = tmpdir.join("tool")
    tool.write("#!/bin/sh\n")
    os.chmod(str(tool), 0o755)
    tmpdir.join("plain").write("")
    assert _cli.which("tool", path=os.pathsep.join(["/nonexistent", str(tmpdir)])) == str(tool)
    assert _cli.which("plain", path=str(tmpdir)) is None
    assert _cli.which(str(tool)) == str(tool)
    assert _cli.which("sh") is not None


def test_setup_py_console_scripts_resolve():
    import re

    from tests.helpers import ROOT

    with open(os.path.join(ROOT, "setup.py")) as f:
        text = f.read()
    scripts = dict(re.findall(r'"([\w-]+) = (sqreen[\w.]*:\w+)"', text))
    assert sorted(scripts) == ["sqreen", "sqreen-start"]
    for target in scripts.values():
        module, _, attr = target.partition(":")
        assert callable(getattr(__import__(module, None, None, [attr]), attr))
    assert scripts["sqreen-start"] == "sqreen._cli:start_main"


def test_events_reaches_the_real_events_command(capsys, tmpdir):
    missing = str(tmpdir.join("none.jsonl"))
    assert _cli.main(["events", missing]) == 2
    assert capsys.readouterr()[1].startswith("sqreen events: cannot read %s" % missing)
