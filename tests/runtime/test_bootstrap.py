"""sqreen-start and its sitecustomize bootstrap, in real processes."""
import json
import os
import subprocess
import sys

import pytest

from sqreen.bootstrap import DIRECTORY
from tests.helpers import ROOT

# sqreen-start, from the repository (the console script may not be installed).
LAUNCHER = "import sys; sys.path.insert(0, %r); from sqreen._cli import start_main; sys.exit(start_main())" \
    % ROOT

# The application: what it sees of the agent and of the sitecustomize chain.
APP = """
import json, os, sys, threading
state = {
    "agent": sys.modules["sqreen._runtime"].status() if "sqreen._runtime" in sys.modules else None,
    "sqreen_imported": "sqreen" in sys.modules,
    "sitecustomize": getattr(sys.modules.get("sitecustomize"), "__file__", None),
    "bootstrap_on_path": %r in sys.path,
    "pythonpath": os.environ.get("PYTHONPATH", "").split(os.pathsep),
    "cmdline": open("/proc/self/cmdline", "rb").read().decode("latin-1"),
    "network_modules": sorted(m for m in ("ssl", "socket", "urllib", "urllib2", "urllib.request", "httplib",
                                          "http.client", "requests") if m in sys.modules),
    "threads": threading.active_count(),
}
print(json.dumps(state))
""" % DIRECTORY

# Records each run by the process's command line (processes that exec share a pid).
USER_SITECUSTOMIZE = """
import json
with open(%r, "a") as f:
    f.write(json.dumps(open("/proc/self/cmdline", "rb").read().decode("latin-1")) + "\\n")
"""


def clean_env(**extra):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("SQREEN_", "PYTHON")))
    env.update(extra)
    return env


def launch(args, cwd, env=None, launcher=LAUNCHER):
    proc = subprocess.Popen([sys.executable, "-c", launcher] + list(args), cwd=str(cwd),
                            env=env if env is not None else clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    return proc.returncode, out.decode(), err.decode()


def run_app(tmpdir, env=None, python=None, launcher=LAUNCHER):
    rc, out, err = launch([python or sys.executable, "-c", APP], tmpdir, env, launcher)
    assert rc == 0, err
    return json.loads(out.strip().splitlines()[-1]), err


def user_site(tmpdir, body=None):
    site = tmpdir.join("usersite").ensure(dir=True)
    site.join("sitecustomize.py").write(body if body is not None else USER_SITECUSTOMIZE
                                        % str(tmpdir.join("marker")))
    return str(site)


def runs_of_user_site(tmpdir, state):
    """How many times the user's sitecustomize ran in the process that printed ``state``."""
    marker = tmpdir.join("marker")
    lines = marker.read().splitlines() if marker.exists() else []
    return [json.loads(line) for line in lines].count(state["cmdline"])


def test_starts_the_agent_before_the_app(tmpdir):
    state, err = run_app(tmpdir, clean_env(SQREEN_EVENTS_FILE=str(tmpdir.join("ev"))))
    assert state["agent"] == "running", err
    assert state["bootstrap_on_path"] is False
    assert state["pythonpath"][0] == DIRECTORY


def test_chains_to_the_user_sitecustomize_exactly_once(tmpdir):
    site = user_site(tmpdir)
    state, err = run_app(tmpdir, clean_env(PYTHONPATH=site))
    assert state["agent"] == "running", err
    assert state["sitecustomize"].startswith(os.path.join(site, "sitecustomize.py"))
    assert runs_of_user_site(tmpdir, state) == 1
    assert state["pythonpath"] == [DIRECTORY, site]


def test_a_failing_user_sitecustomize_is_reported_and_the_app_runs(tmpdir):
    site = user_site(tmpdir, "raise RuntimeError('user site broken')\n")
    state, err = run_app(tmpdir, clean_env(PYTHONPATH=site))
    assert state["agent"] == "running"
    assert "Error in sitecustomize" in err and "user site broken" in err


def test_sqreen_start_inside_sqreen_start(tmpdir):
    site = user_site(tmpdir)
    rc, out, err = launch([sys.executable, "-c", LAUNCHER, sys.executable, "-c", APP], tmpdir,
                          clean_env(PYTHONPATH=site))
    assert rc == 0, err
    state = json.loads(out.strip().splitlines()[-1])
    assert state["agent"] == "running"
    assert state["pythonpath"] == [DIRECTORY, site]
    assert runs_of_user_site(tmpdir, state) == 1


def test_an_unrelated_interpreter_is_left_alone(tmpdir):
    """Same environment, but recorded for another interpreter: chain only, no agent."""
    site = user_site(tmpdir)
    env = clean_env(PYTHONPATH=os.pathsep.join([DIRECTORY, site]), SQREEN_BOOTSTRAP_PYTHON="cpython-0.0")
    proc = subprocess.Popen([sys.executable, "-c", APP], cwd=str(tmpdir), env=env, stdout=subprocess.PIPE)
    state = json.loads(proc.communicate()[0].decode())
    assert state["sqreen_imported"] is False and state["agent"] is None
    assert state["sitecustomize"].startswith(os.path.join(site, "sitecustomize.py"))
    assert runs_of_user_site(tmpdir, state) == 1


def other_python():
    venvs = "/root/.cache/sqreen-venvs"
    for name in ("py27", "py311", "py313"):
        path = os.path.join(venvs, name, "bin", "python")
        if os.path.exists(path) and os.path.realpath(path) != os.path.realpath(sys.executable):
            version = subprocess.check_output([path, "-c", "import sys; print(sys.version_info[:2])"])
            if version.decode().strip() != str(tuple(sys.version_info[:2])):
                return path
    return None


def test_a_real_other_python_version_is_left_alone(tmpdir):
    python = other_python()
    if python is None:
        pytest.skip("no interpreter of another version found")
    site = user_site(tmpdir)
    state, err = run_app(tmpdir, clean_env(PYTHONPATH=site), python=python)
    assert state["sqreen_imported"] is False, err
    assert runs_of_user_site(tmpdir, state) == 1


def test_non_web_command_under_sqreen_start(tmpdir):
    """sys.argv does not exist yet when sitecustomize runs: /proc/self/cmdline tells."""
    tmpdir.join("manage.py").write(APP)
    rc, out, err = launch([sys.executable, "manage.py", "test"], tmpdir,
                          clean_env(SQREEN_LOG_LEVEL="info"))
    assert rc == 0, err
    assert json.loads(out)["agent"] == "skipped"
    assert "Django 'test' command" in err


def test_disabled_under_sqreen_start(tmpdir):
    state, err = run_app(tmpdir, clean_env(SQREEN_DISABLE="1"))
    assert state["agent"] == "disabled" and state["threads"] == 1


def test_bootstrap_leaves_nothing_for_gevent_to_complain_about(tmpdir):
    """No thread, no network module before the app runs: a later monkey.patch_all() is safe."""
    state, err = run_app(tmpdir, clean_env(SQREEN_EVENTS_FILE=str(tmpdir.join("ev"))))
    assert state["agent"] == "running"
    assert state["network_modules"] == [] and state["threads"] == 1, state


GEVENT_APP = """
import warnings
warnings.simplefilter("error")
from gevent import monkey
monkey.patch_all()
import sys
print(sys.modules["sqreen._runtime"].status())
"""


def test_gevent_patch_all_after_the_bootstrap(tmpdir):
    try:
        import gevent  # noqa: F401
    except ImportError:
        pytest.skip("gevent is not installed for this interpreter")
    rc, out, err = launch([sys.executable, "-c", GEVENT_APP], tmpdir,
                          clean_env(SQREEN_EVENTS_FILE=str(tmpdir.join("ev"))))
    assert rc == 0, err
    assert out.strip() == "running"
    assert "MonkeyPatchWarning" not in err


def test_no_arguments_prints_usage(tmpdir):
    rc, out, err = launch([], tmpdir)
    assert rc == 2 and err.startswith("usage: sqreen-start COMMAND")


def test_help(tmpdir):
    rc, out, err = launch(["--help"], tmpdir)
    assert rc == 0 and out.startswith("usage: sqreen-start")


def test_missing_command_exits_127_with_one_line(tmpdir):
    rc, out, err = launch(["no-such-command-sqreen", "arg"], tmpdir)
    assert rc == 127
    assert err == "sqreen-start: command not found: no-such-command-sqreen\n"


def test_not_executable_exits_127_or_126(tmpdir):
    script = tmpdir.join("script.sh")
    script.write("#!/bin/sh\necho hi\n")
    rc, out, err = launch([str(script)], tmpdir)
    assert rc == 127 and "command not found" in err  # not executable: not a command
    os.chmod(str(script), 0o755)
    tmpdir.join("bad.sh").write("#!/no/such/interpreter\n")
    os.chmod(str(tmpdir.join("bad.sh")), 0o755)
    rc, out, err = launch([str(tmpdir.join("bad.sh"))], tmpdir)
    assert rc == 126 and err.startswith("sqreen-start: cannot run") and err.count("\n") == 1


def test_exec_keeps_the_pid_and_passes_arguments(tmpdir):
    code = "import os, sys; print('%d %s' % (os.getpid(), sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, sys.executable, "-c", code, "a b", "-x"],
                            cwd=str(tmpdir), env=clean_env(), stdout=subprocess.PIPE)
    out = proc.communicate()[0].decode()
    assert out.strip() == "%d ['a b', '-x']" % proc.pid


def test_config_error_exits_2_before_running_anything(tmpdir):
    rc, out, err = launch([sys.executable, "-c", "print('ran')"], tmpdir, clean_env(SQREEN_MODE="blok"))
    assert rc == 2 and out == ""
    assert err == "sqreen-start: configuration error: env SQREEN_MODE: mode='blok': " \
                  "expected one of monitor, block\n"


def test_bootstrap_environ_does_not_duplicate_itself():
    from sqreen import _cli

    env = _cli.bootstrap_environ({"PYTHONPATH": os.pathsep.join(["/a", DIRECTORY, "/b"]), "X": "1"})
    assert env["PYTHONPATH"] == os.pathsep.join([DIRECTORY, "/a", "/b"])
    assert env["X"] == "1" and env["SQREEN_BOOTSTRAP_PYTHON"].endswith("-%d.%d" % sys.version_info[:2])
    assert _cli.bootstrap_environ({})["PYTHONPATH"] == DIRECTORY
