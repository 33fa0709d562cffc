"""The one model, in the table ``ORM_TABLE`` names (each test server has its own)."""
import os

from django.db import models

TABLE = os.environ.get("ORM_TABLE", "sqreen_orm_item")


class Item(models.Model):
    name = models.CharField(max_length=50)
    score = models.IntegerField()

    class Meta:
        app_label = "orm_app"
        db_table = TABLE
