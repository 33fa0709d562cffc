"""Routes of the user-monitoring Django project."""
import django

from tests.users.django_project import views

if django.VERSION >= (2, 0):
    from django.urls import re_path
else:
    from django.conf.urls import url as re_path

urlpatterns = [
    re_path(r"^ready$", views.ready),
    re_path(r"^login$", views.login),
    re_path(r"^state$", views.state),
]
