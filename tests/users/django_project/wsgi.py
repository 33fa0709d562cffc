"""The user-monitoring Django project's WSGI application; ``python -m ... PORT`` serves it (wsgiref).

Start-up: Django set up, the tables created and two accounts made, then
(Python 3) the views imported -- binding ``authenticate`` -- before the
agent starts, as an app importing its views early would. On Python 2.7 the
agent can only replace the module's attribute, so the views come after it.
"""
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.users.django_project.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

call_command("migrate", run_syncdb=True, verbosity=0)

from django.contrib.auth import get_user_model  # noqa: E402

for handle, password in (("alice", "alice-password"), ("mallory", "mallory-password")):
    get_user_model().objects.create_user(handle, password, email=handle + "@example.com")

VIEWS_BEFORE_AGENT = sys.version_info[0] >= 3
if VIEWS_BEFORE_AGENT:
    from tests.users.django_project import views  # noqa: E402,F401

import sqreen  # noqa: E402

sqreen.start()

from django.core.wsgi import get_wsgi_application  # noqa: E402

from tests.users.django_project.views import STARTUP  # noqa: E402

STARTUP["views_before_agent"] = VIEWS_BEFORE_AGENT
application = get_wsgi_application()

if __name__ == "__main__":
    from sqreen._demo_app import serve

    serve(application, int(sys.argv[1]))
