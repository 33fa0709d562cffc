"""A backend that refuses the handle ``denied`` outright, as Django documents: ``PermissionDenied``."""
from django.core.exceptions import PermissionDenied


class DenyBackend(object):
    def authenticate(self, request, handle=None, **credentials):
        if handle == "denied":
            raise PermissionDenied("this account may not log in")
        return None

    def get_user(self, user_id):
        return None
