"""Test helpers shared by the whole suite."""
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, args=(), env=None, cwd=None, timeout=60, check=True, python=None):
    """Run ``code`` in a fresh interpreter; return (returncode, stdout, stderr).

    The child sees the repository on ``sys.path`` (ahead of an installed
    copy only when the test asks for it through ``env``). With ``check``,
    a non-zero exit raises AssertionError with the child's output.
    """
    full_env = dict(os.environ)
    full_env.pop("PYTHONSTARTUP", None)
    if env:
        full_env.update(env)
    cmd = [python or sys.executable] + list(args) + ["-c", textwrap.dedent(code)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, cwd=cwd or ROOT
    )
    try:
        out, err = proc.communicate(timeout=timeout) if sys.version_info[0] >= 3 else proc.communicate()
    except Exception:
        proc.kill()
        proc.communicate()
        raise
    out = out.decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise AssertionError(
            "child exited %s\n--- stdout\n%s\n--- stderr\n%s" % (proc.returncode, out, err)
        )
    return proc.returncode, out, err


def require_service(reason):
    """Skip with ``reason``, or fail under CI where every service must be up."""
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("service required under CI: %s" % reason)
    pytest.skip(reason)


def require_compiled(module):
    """Skip a test of the compiled ``module`` (not built here), or fail under CI, where it must be."""
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("%s was not built (setup.py build_ext --inplace)" % module)
    pytest.skip("%s was not built (python setup.py build_ext --inplace)" % module)
