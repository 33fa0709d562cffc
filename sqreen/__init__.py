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


# User monitoring (the SDK). Each function returns None at once while the agent is not running, else
# True when it recorded, False (after one warning) when the call was bad; only ``RequestBlocked`` (a
# request the agent refuses in block mode, answered with a 403 by the request layer) ever leaves them.


def _sdk_running():
    from sqreen import _runtime

    return _runtime._state["status"] == _runtime.RUNNING


def auth_track(success, **identifiers):
    """Report a login attempt of the user named by ``identifiers`` (``email=...``, ``username=...``)."""
    if not _sdk_running():
        return None
    from sqreen import _sdk

    return _sdk.auth_track(success, identifiers)


def signup_track(**identifiers):
    """Report a new account, named by ``identifiers``."""
    if not _sdk_running():
        return None
    from sqreen import _sdk

    return _sdk.signup_track(identifiers)


def identify(identifiers, traits=None):
    """Tie the current request (and its later events) to the user ``identifiers`` (a dict)."""
    if not _sdk_running():
        return None
    from sqreen import _sdk

    return _sdk.identify(identifiers, traits)


def track(event, properties=None, user_identifiers=None, timestamp=None):
    """Report the custom event ``event`` (a name) with at most 16 JSON-serialisable ``properties``."""
    if not _sdk_running():
        return None
    from sqreen import _sdk

    return _sdk.track(event, properties, user_identifiers, timestamp)


def block_user(identifiers):
    """Refuse (403 in block mode) every request later identified as this user, in this process."""
    if not _sdk_running():
        return None
    from sqreen import _sdk

    return _sdk.block_user(identifiers)
