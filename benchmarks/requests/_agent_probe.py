"""What the serving process knows of the agent (status, whether it sees the request), and its pid."""
import os
import sys


def probe():
    runtime = sys.modules.get("sqreen._runtime")
    wsgi = sys.modules.get("sqreen.wsgi")
    return {
        "pid": os.getpid(),
        "status": runtime.status() if runtime is not None else "not imported",
        "request_seen": bool(wsgi is not None and wsgi.current_request() is not None),
    }
