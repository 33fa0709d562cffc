"""``/dj/<way>/<concat|param>`` for each way Django lets an app write SQL, and the table's state."""
import django

from tests.protections.orm_app import views

if django.VERSION >= (2, 0):
    from django.urls import re_path
else:
    from django.conf.urls import url as re_path

urlpatterns = [
    re_path(r"^dj/(?P<way>raw|extra|rawsql|cursor)/(?P<style>concat|param)$", views.query),
    re_path(r"^dj/scores$", views.scores),
]
