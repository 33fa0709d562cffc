"""Settings of the user-monitoring Django project: contrib.auth with a custom user model, no middleware.

``USERS_APP_DB`` names the SQLite file. The MD5 hasher keeps the tests'
hundreds of logins fast (test only: never in a real project).
"""
import os

SECRET_KEY = "not-a-secret-test-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.users.django_project.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "tests.users.django_project.accounts"]
AUTH_USER_MODEL = "accounts.Account"
AUTHENTICATION_BACKENDS = ["tests.users.django_project.accounts.backends.DenyBackend",
                           "django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MIDDLEWARE = []
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ.get("USERS_APP_DB", ":memory:")}}
LOGGING_CONFIG = None
