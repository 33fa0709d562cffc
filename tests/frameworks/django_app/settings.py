"""Settings of the Django test project: no apps, a SQLite file, every view in a transaction.

``DJANGO_APP_DB`` names the database file; ``DJANGO_APP_LEGACY=1`` lists
the project's middleware in ``MIDDLEWARE_CLASSES`` (old style, Django 1.11)
instead of ``MIDDLEWARE``.
"""
import os

SECRET_KEY = "not-a-secret-test-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.frameworks.django_app.urls"
INSTALLED_APPS = []
USE_TZ = True

_PROJECT_MIDDLEWARE = ["tests.frameworks.django_app.middleware.Trace"]
if os.environ.get("DJANGO_APP_LEGACY") == "1":
    MIDDLEWARE = None
    MIDDLEWARE_CLASSES = ["tests.frameworks.django_app.middleware.LegacyTrace"]
else:
    MIDDLEWARE = _PROJECT_MIDDLEWARE

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_APP_DB", ":memory:"),
        "ATOMIC_REQUESTS": True,
    }
}
LOGGING_CONFIG = None
