"""What the serving process knows of the agent (status, whether it sees the request, integrations applied).

Integrations are imported only when the module they patch is, so the loaded
``sqreen.integrations.*`` modules are the ones at work in this process.
"""
import os
import sys


def probe():
    runtime = sys.modules.get("sqreen._runtime")
    wsgi = sys.modules.get("sqreen.wsgi")
    return {
        "pid": os.getpid(),
        "status": runtime.status() if runtime is not None else "not imported",
        "request_seen": bool(wsgi is not None and wsgi.current_request() is not None),
        "integrations": sorted(name.rpartition(".")[2] for name in sys.modules
                               if name.startswith("sqreen.integrations.") and sys.modules[name] is not None
                               and not name.rpartition(".")[2].startswith("_")),
    }
