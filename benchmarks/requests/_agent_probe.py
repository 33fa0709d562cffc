"""What the serving process knows of the agent: its status, and whether it sees the current request."""
import sys


def probe():
    runtime = sys.modules.get("sqreen._runtime")
    wsgi = sys.modules.get("sqreen.wsgi")
    return {
        "status": runtime.status() if runtime is not None else "not imported",
        "request_seen": bool(wsgi is not None and wsgi.current_request() is not None),
    }
