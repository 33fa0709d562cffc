"""Django settings: the app's one model, the database ``ORM_DB`` names, autocommit (no request transaction).

Without a request transaction, what a query changed stays: a blocked query
that left the rows as they were did not run (nothing was rolled back).
"""
import os

SECRET_KEY = "not-a-secret-test-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.protections.orm_app.urls"
INSTALLED_APPS = ["tests.protections.orm_app"]
MIDDLEWARE = []
USE_TZ = True
LOGGING_CONFIG = None

_KIND = os.environ.get("ORM_DB", "sqlite")
if _KIND == "postgresql":
    _DB = {"ENGINE": "django.db.backends.postgresql", "NAME": "test", "USER": "postgres",
           "HOST": "127.0.0.1", "PORT": "5432"}
elif _KIND == "mysql":
    _DB = {"ENGINE": "django.db.backends.mysql", "NAME": "test", "USER": "root", "PASSWORD": "",
           "HOST": "127.0.0.1", "PORT": "3306"}
else:
    _DB = {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("ORM_SQLITE", "orm") + "-django.db"}
DATABASES = {"default": _DB}
