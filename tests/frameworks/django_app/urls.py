"""Routes with path parameters: ``path()`` converters on Django 2+, regular expressions on 1.11."""
import django

from tests.frameworks.django_app import views

if django.VERSION >= (2, 0):
    from django.urls import path, re_path

    urlpatterns = [
        path("items/<int:item_id>/<slug:name>/", views.ctx, name="item"),
        re_path(r"^files/(\d+)/$", views.ctx, name="file"),
    ]
else:
    from django.conf.urls import url as re_path

    urlpatterns = [
        re_path(r"^items/(?P<item_id>[0-9]+)/(?P<name>[-\w]+)/$", views.ctx, name="item"),
        re_path(r"^files/(\d+)/$", views.ctx, name="file"),
    ]

urlpatterns += [
    re_path(r"^ready$", views.ready),
    re_path(r"^hello/(?P<name>\w+)/$", views.hello),
    re_path(r"^ctx$", views.ctx, name="ctx"),
    re_path(r"^block$", views.block),
    re_path(r"^write-then-block$", views.write_then_block),
    re_path(r"^notes$", views.notes),
    re_path(r"^stream$", views.stream, name="stream"),
    re_path(r"^error$", views.error),
    re_path(r"^state$", views.state),
]
