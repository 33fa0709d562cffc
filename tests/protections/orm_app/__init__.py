"""A deliberately vulnerable app reaching its database through Django's ORM and SQLAlchemy.

``python -m tests.protections.orm_app.serve PORT`` serves it on loopback
under the agent: Django views under ``/dj/`` (``raw()``, ``extra()``,
``RawSQL``, ``connection.cursor().execute``) and a SQLAlchemy WSGI app under
``/sa/`` (``text()`` through a Core connection and an ORM Session), each
with the request's ``q`` concatenated into the SQL (``concat``) or bound
(``param``). ``ORM_DB`` picks the database (sqlite, postgresql, mysql),
``ORM_TABLE`` the tables' name and ``ORM_SQLITE`` the SQLite files' prefix.
"""
