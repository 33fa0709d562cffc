"""sqreen.start() / sqreen.stop() in fresh interpreters: idempotence, threads, disable, laziness, fork."""
import json
import os
import sys

import pytest

from tests.helpers import run_python


@pytest.fixture(autouse=True)
def no_sqreen_env(monkeypatch, tmpdir):
    for name in list(os.environ):
        if name.startswith("SQREEN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SQREEN_EVENTS_FILE", str(tmpdir.join("events.jsonl")))


def child_json(code, **kwargs):
    """Run ``code`` (which prints one JSON document last) in a fresh interpreter; the document and stderr."""
    _, out, err = run_python(code, **kwargs)
    return json.loads(out.strip().splitlines()[-1]), err


FINDERS = "sum(1 for f in sys.meta_path if type(f).__module__.startswith('sqreen.'))"


def test_start_is_idempotent_and_stop_undoes_it():
    result, err = child_json("""
        import json, sys, threading
        import sqreen
        from sqreen import _runtime, _reporter
        first = sqreen.start()
        second = sqreen.start()
        running = [_runtime.status(), %(finders)s, _reporter.is_started()]
        sqreen.stop()
        stopped = [_runtime.status(), %(finders)s, _reporter.is_started()]
        again = [sqreen.start(), %(finders)s]
        print(json.dumps([first, second, running, stopped, again]))
        """ % {"finders": FINDERS})
    assert result == [True, True, ["running", 1, True], ["stopped", 0, False], [True, 1]], err
    assert err == ""


def test_concurrent_starts_start_once():
    result, err = child_json("""
        import json, sys, threading
        import sqreen
        from sqreen import _config
        loads = []
        real_load = _config.load
        _config.load = lambda *a, **k: loads.append(1) or real_load(*a, **k)
        barrier = threading.Event()
        results = []
        def go():
            barrier.wait()
            results.append(sqreen.start())
        threads = [threading.Thread(target=go) for _ in range(16)]
        for t in threads:
            t.start()
        barrier.set()
        for t in threads:
            t.join()
        print(json.dumps([results.count(True), len(loads), %s]))
        """ % FINDERS)
    assert result == [16, 1, 1], err


def test_start_imports_no_framework_and_nothing_heavy():
    result, err = child_json("""
        import json, sys
        import sqreen
        sqreen.start()
        print(json.dumps(sorted(m for m in ("requests", "wrapt", "ast", "bytecode", "flask", "django",
                                            "ssl", "urllib3", "http.client", "httplib")
                                if m in sys.modules)))
        """)
    assert result == [], err


def test_disable_returns_at_once_and_imports_only_the_config_reader():
    result, err = child_json("""
        import sys, threading
        before = set(sys.modules)
        import sqreen
        started = sqreen.start()
        new = sorted(m for m in set(sys.modules) - before if sys.modules[m])
        import json
        print(json.dumps([started, new, %s, threading.active_count()]))
        """ % FINDERS, env={"SQREEN_DISABLE": "1"})
    assert result == [False, ["sqreen", "sqreen._config", "sqreen._runtime"], 0, 1], err


def test_disable_with_a_config_error_still_says_so():
    _, out, err = run_python("import sqreen; print(sqreen.start())",
                             env={"SQREEN_DISABLE": "1", "SQREEN_MODE": "blok"})
    assert out.strip() == "False"
    assert err.count("configuration error: env SQREEN_MODE") == 1


def test_disable_in_the_config_file(tmpdir):
    tmpdir.join("sqreen.ini").write("[sqreen]\ndisable = true\n")
    result, err = child_json("""
        import json, sys
        sys.path.insert(0, %r)
        import sqreen
        print(json.dumps([sqreen.start(), %s, "sqreen.importhook" in sys.modules]))
        """ % (os.getcwd(), FINDERS), cwd=str(tmpdir))
    assert result == [False, 0, False], err


def test_config_error_is_logged_once_and_the_default_used():
    result, err = child_json("""
        import json
        import sqreen
        from sqreen import _runtime
        sqreen.start(); sqreen.stop(); sqreen.start()
        print(json.dumps([_runtime.status(), _runtime.config().mode, _runtime.config().queue_size]))
        """, env={"SQREEN_MODE": "blok", "SQREEN_QUEUE_SIZE": "7"})
    assert result == ["running", "monitor", 7]
    assert err.count("configuration error: env SQREEN_MODE: mode='blok'") == 1, err


def test_a_failing_part_never_raises_into_the_app():
    result, err = child_json("""
        import json
        import sqreen
        from sqreen import importhook, _runtime
        def broken():
            raise RuntimeError("boom")
        importhook.install = broken
        print(json.dumps([sqreen.start(), sqreen.start(), _runtime.status()]))
        """)
    assert result == [False, False, "failed"]
    assert err.count("the agent failed to start") == 1 and "boom" in err


def test_a_failure_after_the_hook_went_in_takes_it_out():
    result, err = child_json("""
        import json, sys
        import sqreen
        from sqreen import _integrations, _runtime
        def broken(register, table=None):
            raise RuntimeError("registration broke")
        _integrations.register_all = broken
        print(json.dumps([sqreen.start(), _runtime.status(), %s]))
        """ % FINDERS)
    assert result == [False, "failed", 0]
    assert "registration broke" in err


def test_reporter_failure_leaves_the_agent_running():
    result, err = child_json("""
        import json
        import sqreen
        from sqreen import _reporter, _runtime
        def broken(config):
            raise RuntimeError("no reporter today")
        _reporter.start = broken
        print(json.dumps([sqreen.start(), _runtime.status()]))
        """)
    assert result == [True, "running"]
    assert "reporter failed to start" in err


def fake_integration(tmpdir):
    tmpdir.join("fakefw.py").write("VALUE = 1\n")
    tmpdir.join("fakepatch.py").write("def patch(module):\n    module.PATCHED = True\n")
    tmpdir.join("brokenpatch.py").write("def patch(module):\n    raise ValueError('bad patch')\n")
    tmpdir.join("otherfw.py").write("VALUE = 2\n")


def test_integrations_are_registered_lazily(tmpdir):
    fake_integration(tmpdir)
    result, err = child_json("""
        import json, sys
        sys.path.insert(0, %r)
        from sqreen import _integrations
        _integrations.INTEGRATIONS = (("fakefw", "fakepatch:patch", "fakefw"),
                                      ("otherfw", "brokenpatch:patch", "otherfw"))
        import sqreen
        sqreen.start()
        lazy = ["fakefw" in sys.modules, "fakepatch" in sys.modules]
        import fakefw, otherfw
        patched = [getattr(fakefw, "PATCHED", False), otherfw.VALUE]
        print(json.dumps([lazy, patched]))
        """ % str(tmpdir))
    assert result == [[False, False], [True, 2]], err
    assert err.count("integration brokenpatch:patch failed; otherfw stays unprotected") == 1


def test_stop_unregisters_the_integrations(tmpdir):
    fake_integration(tmpdir)
    result, err = child_json("""
        import json, sys
        sys.path.insert(0, %r)
        from sqreen import _integrations
        _integrations.INTEGRATIONS = (("fakefw", "fakepatch:patch", "fakefw"),)
        import sqreen
        sqreen.start(); sqreen.stop(); sqreen.start(); sqreen.stop()
        import fakefw
        print(json.dumps(getattr(fakefw, "PATCHED", False)))
        """ % str(tmpdir))
    assert result is False, err


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_gives_the_child_fresh_state():
    result, err = child_json("""
        import json, os, sys
        import sqreen
        from sqreen import _runtime, _log
        sqreen.start()
        _log.log_once("parent-error", "an error in the parent")
        parent_lock = _runtime._lock
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = _runtime.status()  # on 2.7 this notices the fork
            fresh = [status, _runtime._lock is not parent_lock, _runtime._state["pid"] == os.getpid(),
                     _log.counters(), sqreen.start()]
            os.write(w, json.dumps(fresh).encode())
            os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        child = json.loads(os.read(r, 65536).decode())
        print(json.dumps([child, _runtime._lock is parent_lock, _log.counters()]))
        """)
    child, parent_lock_kept, parent_counters = result
    assert child == ["running", True, True, {}, True], err
    assert parent_lock_kept is True and parent_counters == {"parent-error": 1}


@pytest.mark.skipif(sys.version_info < (3, 7), reason="os.register_at_fork is 3.7+")
def test_fork_hook_runs_without_touching_the_runtime():
    result, err = child_json("""
        import json, os
        import sqreen
        from sqreen import _runtime
        sqreen.start()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(w, json.dumps(_runtime._state["pid"] == os.getpid()).encode())
            os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        print(os.read(r, 100).decode())
        """)
    assert result is True, err


def test_log_level_from_config_shows_info_lines_without_app_logging():
    _, out, err = run_python("""
        import sqreen
        from sqreen import _log
        sqreen.start()
        _log.logger.info("sqreen: hello at info")
        """, env={"SQREEN_LOG_LEVEL": "info"})
    assert "sqreen: hello at info" in err


def test_fallback_log_handler_steps_aside_when_the_app_configures_logging():
    _, out, err = run_python("""
        import logging, sys
        import sqreen
        from sqreen import _log
        sqreen.start()
        logging.basicConfig(stream=sys.stdout, format="APP %(message)s")
        _log.logger.warning("sqreen: once")
        """)
    assert out.count("sqreen: once") == 1 and "sqreen: once" not in err
