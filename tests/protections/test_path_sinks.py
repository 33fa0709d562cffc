"""Path traversal through the real file sinks, under the agent, in monitor and block mode.

Each mode runs ``_path_sinks_child`` once in a fresh interpreter (the agent
patches the real ``open``, ``os``, ``shutil`` and ``pathlib`` there, never
in the test runner); the tests read what it recorded.
"""
import json
import os
import sys

import pytest

from sqreen.integrations import files
from tests.helpers import run_python

SINKS = ["open", "io.open", "os.open", "os.remove", "os.unlink", "os.rename", "shutil.copy", "shutil.copy2",
         "shutil.copyfile", "shutil.copytree", "shutil.move"]
if sys.version_info[0] >= 3:
    SINKS += ["pathlib.Path.open", "pathlib.Path.read_text", "pathlib.Path.read_bytes",
              "pathlib.Path.write_text", "pathlib.Path.write_bytes"]

_runs = {}


def run_child(mode, tmpdir):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
    env.update(SQREEN_FORCE_START="1", SQREEN_MODE=mode,
               SQREEN_EVENTS_FILE=os.path.join(tmpdir, "events.jsonl"))
    _, out, err = run_python("from tests.protections._path_sinks_child import main; main(%r)" % (tmpdir,),
                             env=env)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert lines, (out, err)
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture(scope="module", params=["monitor", "block"])
def child(request, tmpdir_factory):
    mode = request.param
    if mode not in _runs:
        _runs[mode] = run_child(mode, str(tmpdir_factory.mktemp("sinks-" + mode)))
    return mode, _runs[mode]


def result(run, sink, kind):
    [found] = [r for r in run["results"] if r["sink"] == sink and r["kind"] == kind]
    return found


def events_of(run, request_id):
    return [e for e in run["events"] if e["request"]["request_id"] == request_id]


@pytest.mark.parametrize("sink", SINKS)
def test_attack_through_each_sink(child, sink):
    mode, run = child
    attack = result(run, sink, "attack")
    [event] = events_of(run, "attack " + sink)
    assert event["attack_type"] == "path_traversal" and event["detail"]["sink"] == sink
    assert event["input"]["source"] == "query" and event["input"]["name"] == "name"
    assert event["input"]["value"].startswith("../")
    assert event["detail"]["reason"] == "climbs above the directory"
    if mode == "block":
        assert attack == {"sink": sink, "kind": "attack", "outcome": "blocked", "harm": False}
        assert event["blocked"] is True
    else:
        assert attack == {"sink": sink, "kind": "attack", "outcome": "ran", "harm": True}
        assert event["blocked"] is False


@pytest.mark.parametrize("sink", SINKS)
def test_look_alike_through_each_sink(child, sink):
    mode, run = child
    assert result(run, sink, "benign")["outcome"] == "ran"
    assert events_of(run, "benign " + sink) == []


def test_nothing_is_checked_outside_a_request(child):
    mode, run = child
    assert run["outside"] is True


def test_the_agents_own_calls_are_not_checked(child):
    mode, run = child
    assert run["agent"] == ["ran", True]
    assert events_of(run, "agent") == []


def test_only_paths_are_checked():
    assert files.is_path("a") and files.is_path(b"a")
    assert not files.is_path(3) and not files.is_path(None) and not files.is_path(object())
    if sys.version_info[0] >= 3:
        import io
        import pathlib

        assert files.is_path(pathlib.PurePosixPath("/srv"))
        assert not files.is_path(io.BytesIO(b"x"))


def test_paths_picked_from_the_arguments():
    assert list(files.FILE(None, ("a", "r"), {})) == ["a"]
    assert files.FILE(None, (), {"file": "b"}) == ["b"]
    assert files.SOURCE_AND_DESTINATION(None, ("s",), {"dst": "d"}) == ["s", "d"]
    assert files.SEND_FILE(None, (), {"filename_or_fp": "f"}) == ["f"]
    send_from_directory = dict(files.FLASK_SINKS)["send_from_directory"]
    assert send_from_directory(None, ("/srv/files", "../x"), {}) == [os.path.join("/srv/files", "../x")]
    assert send_from_directory(None, ("/srv/files",), {"filename": "/etc/passwd"}) == ["/etc/passwd"]
    assert send_from_directory(None, ("/srv/files",), {}) == [None]


def test_the_request_module_is_loaded_late(tmpdir):
    """The agent starts without ``sqreen._request``; the gates find it once the first request loads it."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
    env.update(SQREEN_FORCE_START="1", SQREEN_MODE="block",
               SQREEN_EVENTS_FILE=os.path.join(str(tmpdir), "events.jsonl"))
    _, out, _ = run_python("""
import os, sys
import sqreen
assert sqreen.start()
assert "sqreen._request" not in sys.modules and "urllib" not in sys.modules
with open(os.devnull) as f:  # before: outside any request
    pass
from sqreen import _request
from sqreen.instrumentation import RequestBlocked
_request.activate(_request.Request({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "f=../x"}))
try:
    open("/srv/files/../x")
except RequestBlocked:
    print("blocked")
""", env=env)
    assert out.split() == ["blocked"]


@pytest.mark.skipif(sys.version_info[0] < 3, reason="pathlib is Python 3")
def test_pathlib_imported_after_the_agent_still_works(tmpdir):
    """pathlib 3.8-3.10 holds os.open, os.unlink... as class attributes: hooked, they must not bind."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
    env.update(SQREEN_FORCE_START="1", SQREEN_EVENTS_FILE=os.path.join(str(tmpdir), "events.jsonl"))
    _, out, _ = run_python("""
import sys
import sqreen
assert sqreen.start()
sys.modules.pop("pathlib", None)
import pathlib
path = pathlib.Path(%r) / "files" / "a.txt"
path.parent.mkdir()
path.touch()
path.write_text(u"x")
path.rename(path.with_name("b.txt"))
path.with_name("b.txt").unlink()
print(sorted(p.name for p in path.parent.iterdir()))
""" % str(tmpdir), env=env)
    assert out.strip() == "[]"
