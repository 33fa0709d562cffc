"""sqreen: an open-source security microagent for Python web applications.

The public API lives here and in the documented modules
``sqreen.importhook``, ``sqreen.instrumentation`` and ``sqreen.wsgi``.
Importing this package is cheap: it imports nothing of the frameworks it
protects, and nothing of its own engine until that is used.
"""
__version__ = "0.1.0.dev0"
