"""One module per library the agent instruments.

Each module has a ``patch(module)`` function that ``sqreen._integrations``
runs when the application imports the library; nothing here is imported
before that.
"""
