"""sqreen: an open-source security microagent for Python web applications.

The public API lives here and in the documented modules
``sqreen.importhook``, ``sqreen.instrumentation`` and ``sqreen.wsgi``.
Importing this package is cheap: it imports nothing of the frameworks it
protects, and nothing of its own engine until that is used.
"""
__version__ = "0.1.0.dev0"


def start():
    """Start the agent in this process (once; later calls do nothing).

    Returns True when the agent runs, False when it is disabled, skipped
    (a test run, shell or worker) or failed. Never raises and never waits
    on the network.
    """
    from sqreen import _runtime

    return _runtime.start()


def stop(timeout=None):
    """Stop the agent: remove the import hook, flush and stop the reporter (for tests and embedding)."""
    from sqreen import _runtime

    _runtime.stop(timeout)
