"""Non-web process detection: a pure function of command lines, plus real processes."""
import os
import subprocess
import sys

import pytest

from sqreen import _nonweb
from tests.helpers import ROOT

PY = "/usr/bin/python3.11"

NON_WEB = [
    # test launchers
    (["pytest", "-x"], "pytest"),
    (["/venv/bin/py.test"], "pytest"),
    (["/venv/bin/PyTest"], "pytest"),
    ([PY, "-m", "pytest", "tests"], "pytest"),
    ([PY, "-mpytest"], "pytest"),
    ([PY, "-u", "-W", "ignore", "-X", "dev", "-m", "pytest"], "pytest"),
    ([PY, "/venv/bin/pytest", "-q"], "pytest"),
    ([PY, "/venv/lib/python3.11/site-packages/pytest/__main__.py"], "pytest"),
    (["C:\\Python311\\Scripts\\pytest.exe"], "pytest"),
    (["nosetests", "-v"], "nose"),
    ([PY, "-m", "nose"], "nose"),
    (["nose2"], "nose2"),
    (["python2.7", "-m", "nose2", "-s", "tests"], "nose2"),
    ([PY, "-m", "unittest", "discover"], "unittest"),
    (["python", "-m", "unittest"], "unittest"),
    (["python", "manage.py", "test", "app"], "'test'"),
    (["./manage.py", "test"], "'test'"),
    ([PY, "/srv/site/MANAGE.PY", "test", "--keepdb"], "'test'"),
    (["django-admin", "test"], "'test'"),
    ([PY, "-m", "django", "test"], "'test'"),
    # interactive
    (["ipython"], "IPython"),
    ([PY, "-m", "IPython"], "IPython"),
    ([PY, "-m", "ipykernel_launcher", "-f", "/run/kernel.json"], "Jupyter"),
    (["/opt/conda/bin/jupyter", "notebook"], "Jupyter"),
    (["jupyter-lab"], "Jupyter"),
    (["python", "manage.py", "shell"], "'shell'"),
    (["python", "manage.py", "shell_plus", "--ipython"], "'shell_plus'"),
    (["python", "manage.py", "dbshell"], "'dbshell'"),
    (["flask", "shell"], "flask shell"),
    (["flask", "--app", "hello", "shell"], "flask shell"),
    ([PY, "-m", "flask", "shell"], "flask shell"),
    (["pshell", "development.ini"], "pshell"),
    # workers
    (["celery", "worker"], "Celery worker"),
    (["celery", "-A", "proj", "worker", "-l", "INFO"], "Celery worker"),
    (["/venv/bin/celery", "--app=proj", "WORKER"], "Celery worker"),
    ([PY, "-m", "celery", "-A", "proj", "worker"], "Celery worker"),
    ([PY, "/venv/lib/python3.11/site-packages/celery/__main__.py", "-A", "proj", "worker"], "Celery worker"),
    (["celery", "-A", "proj", "beat"], "Celery beat"),
    (["rq", "worker", "high", "low"], "RQ worker"),
    (["rqworker"], "RQ worker"),
    ([PY, "-m", "rq.cli", "worker"], "RQ worker"),
    # the agent's own scripts (sqreen-start runs under the bootstrap when nested)
    ([PY, "/venv/bin/sqreen-start", "gunicorn", "app:app"], "launcher"),
    (["/venv/bin/sqreen", "doctor"], "command line"),
]

WEB = [
    ["gunicorn", "app:app"],
    [PY, "/venv/bin/gunicorn", "-w", "4", "app:app"],
    ["uwsgi", "--http", ":8000"],
    ["python", "manage.py", "runserver"],
    ["python", "manage.py", "--settings", "x", "runserver"],
    ["flask", "run"],
    ["flask", "--app", "shellfish", "run"],
    ["celery", "-A", "proj", "flower"],
    [PY, "-m", "waitress", "app:app"],
    [PY, "app.py"],
    [PY, "/srv/test_server.py"],
    [PY, "-c", "import app"],
    [PY, "-c", "pytest"],
    ["-c"],
    ["-m", "pytest"],  # sys.argv while -m resolves: /proc/self/cmdline tells
    [PY],
    [],
    ["hypercorn", "app:app"],
]


@pytest.mark.parametrize("argv,words", NON_WEB)
def test_non_web_command_lines(argv, words):
    why = _nonweb.reason_for(argv)
    assert why is not None and words in why, (argv, why)


@pytest.mark.parametrize("argv", WEB)
def test_web_command_lines(argv):
    assert _nonweb.reason_for(argv) is None


def test_reason_takes_the_first_hit_and_skips_missing_lists():
    assert _nonweb.reason([None, [], ["gunicorn"], ["pytest"]]) == "test runner (pytest)"
    assert _nonweb.reason([None, ["gunicorn"]]) is None


def test_split_command_sees_through_the_interpreter():
    argv = [PY, "-B", "-m", "celery", "-A", "p", "worker"]
    assert _nonweb.split_command(argv) == ("celery", ["-A", "p", "worker"])
    assert _nonweb.split_command([PY, "-c", "code", "a"]) == ("-c", ["a"])
    assert _nonweb.split_command(["/usr/bin/pypy3", "srv.py", "x"]) == ("srv", ["x"])


def test_read_cmdline(tmpdir):
    path = tmpdir.join("cmdline")
    path.write_binary(b"/usr/bin/python3\x00-m\x00celery\x00worker\x00")
    assert _nonweb.read_cmdline(str(path)) == ["/usr/bin/python3", "-m", "celery", "worker"]
    assert _nonweb.read_cmdline(str(tmpdir.join("missing"))) is None


LINUX = pytest.mark.skipif(not os.path.exists("/proc/self/cmdline"), reason="needs Linux /proc")


@LINUX
def test_read_cmdline_of_this_process():
    assert _nonweb.read_cmdline()[1:] == sys.argv[1:] or "pytest" in " ".join(_nonweb.read_cmdline())


START = """
import sqreen
print("started" if sqreen.start() else "not started")
"""


def clean_env(extra=None):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SQREEN_"))
    env["PYTHONPATH"] = ROOT
    env.update(extra or {})
    return env


def child(args, tmpdir, env=None):
    """Run ``python ARGS`` in ``tmpdir`` with the repository importable; (stdout, stderr)."""
    proc = subprocess.Popen([sys.executable] + args, cwd=str(tmpdir), env=clean_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    return out.decode().strip(), err.decode()


def test_manage_py_test_does_not_start_and_says_why(tmpdir):
    tmpdir.join("manage.py").write(START)
    out, err = child(["manage.py", "test"], tmpdir, {"SQREEN_LOG_LEVEL": "info"})
    assert out == "not started"
    assert err.count("not started in a non-web process: Django 'test' command") == 1, err


def test_force_start_overrides(tmpdir):
    tmpdir.join("manage.py").write(START)
    out, err = child(["manage.py", "test"], tmpdir, {"SQREEN_FORCE_START": "1"})
    assert out == "started", err


def test_manage_py_runserver_starts(tmpdir):
    tmpdir.join("manage.py").write(START)
    out, err = child(["manage.py", "runserver"], tmpdir)
    assert out == "started", err


def test_python_m_celery_worker_does_not_start(tmpdir):
    tmpdir.join("celery").ensure(dir=True)
    tmpdir.join("celery", "__init__.py").write("")
    tmpdir.join("celery", "__main__.py").write(START)
    out, err = child(["-m", "celery", "-A", "proj", "worker"], tmpdir, {"SQREEN_LOG_LEVEL": "info"})
    assert out == "not started"
    assert "Celery worker" in err


@LINUX
@pytest.mark.parametrize("argv0,expected", [("pytest", "not started"), ("gunicorn", "started")])
def test_proc_cmdline_is_read_when_sys_argv_says_nothing(tmpdir, argv0, expected):
    """argv[0] as the parent set it is only visible in /proc/self/cmdline (sys.argv says '-c')."""
    proc = subprocess.Popen([argv0, "-c", START], executable=sys.executable, cwd=str(tmpdir), env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    assert out.decode().strip() == expected, err
