"""The request gate of the sinks hooked at start (open, os.system...) while ``sqreen._request`` loads."""
from tests.helpers import run_python


def test_sinks_called_while_the_request_module_is_half_imported():
    # What sqreen._request imports may call a hooked sink before the module has
    # defined ``current`` (2.7's uuid runs ldconfig through os.popen): the
    # sink must just run.
    run_python("""
        import os, sys, tempfile, types
        os.environ.update(SQREEN_EVENTS_FILE=os.devnull, SQREEN_FORCE_START="1")
        import sqreen
        sqreen.start()
        assert "sqreen._request" not in sys.modules
        sys.modules["sqreen._request"] = types.ModuleType("sqreen._request")  # body not run yet
        try:
            assert os.system("true") == 0
            with open(os.devnull) as f:
                f.read()
            assert os.popen("echo ok").read().strip() == "ok"
        finally:
            del sys.modules["sqreen._request"]
        import sqreen._request
        assert os.system("true") == 0
        print("ok")
    """)
