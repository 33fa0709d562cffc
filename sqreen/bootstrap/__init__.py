"""The directory ``sqreen-start`` puts first on ``PYTHONPATH``.

Its ``sitecustomize`` starts the agent in the launched interpreter before
the application runs, after running the ``sitecustomize`` it shadows.
"""
import os

DIRECTORY = os.path.dirname(os.path.abspath(__file__))
