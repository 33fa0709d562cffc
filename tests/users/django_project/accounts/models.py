"""A custom user model whose ``USERNAME_FIELD`` (``handle``) is none of the usual identifier names."""
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class AccountManager(BaseUserManager):
    def create_user(self, handle, password, email=None):
        user = self.model(handle=handle, email=email)
        user.set_password(password)
        user.save()
        return user


class Account(AbstractBaseUser):
    handle = models.CharField(max_length=64, unique=True)
    email = models.EmailField(null=True)

    USERNAME_FIELD = "handle"
    objects = AccountManager()
