"""What the serving process knows of the agent (status, whether it sees the request, integrations applied).

Integrations are imported only when the module they patch is, so the loaded
``sqreen.integrations.*`` modules are the ones at work in this process.
"""
import gc
import os
import sys


def probe(collect=False):
    """The facts above; ``collect``: run a full garbage collection first (a measurement's common start)."""
    if collect:
        gc.collect()
    runtime = sys.modules.get("sqreen._runtime")
    wsgi = sys.modules.get("sqreen.wsgi")
    return {
        "pid": os.getpid(),
        "status": runtime.status() if runtime is not None else "not imported",
        "request_seen": bool(wsgi is not None and wsgi.current_request() is not None),
        # The response object serving requests: the compiled one (built in place) or its Python version.
        "response": ("none" if wsgi is None else
                     "python" if wsgi._Response is getattr(wsgi, "_PyResponse", None) else "compiled"),
        "gc": {"collections": [stats["collections"] for stats in gc.get_stats()],
               "objects": len(gc.get_objects())},
        "integrations": sorted(name.rpartition(".")[2] for name in sys.modules
                               if name.startswith("sqreen.integrations.") and sys.modules[name] is not None
                               and not name.rpartition(".")[2].startswith("_")),
    }
