"""Django views writing the request's ``q`` into SQL four ways, concatenated or bound.

``raw`` and ``rawsql`` read (the names they select), ``extra`` and
``cursor`` write (add 1 to the score of the rows they match), so that a
blocked query can be seen not to have run.
"""
import json

from django.db import connection
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.http import HttpResponse

from tests.protections.orm_app.models import TABLE, Item


def _json(data):
    return HttpResponse(json.dumps(data, sort_keys=True), content_type="application/json")


def _raw(q, concat):
    sql = "SELECT id, name, score FROM %s WHERE name = " % TABLE
    rows = Item.objects.raw(sql + "'%s'" % q) if concat else Item.objects.raw(sql + "%s", [q])
    return sorted(item.name for item in rows)


def _extra(q, concat):
    where = Item.objects.extra(where=["name = '%s'" % q]) if concat else \
        Item.objects.extra(where=["name = %s"], params=[q])
    return where.update(score=F("score") + 1)


def _rawsql(q, concat):
    case = "CASE WHEN name = %s THEN 1 ELSE 0 END"
    match = RawSQL(case % ("'%s'" % q), []) if concat else RawSQL(case, [q])
    return sorted(item.name for item in Item.objects.annotate(match=match) if item.match)


def _cursor(q, concat):
    sql = "UPDATE %s SET score = score + 1 WHERE name = " % TABLE
    with connection.cursor() as cursor:
        if concat:
            cursor.execute(sql + "'%s'" % q)
        else:
            cursor.execute(sql + "%s", [q])
        return cursor.rowcount


WAYS = {"raw": _raw, "extra": _extra, "rawsql": _rawsql, "cursor": _cursor}


def query(request, way, style):
    return _json({"result": WAYS[way](request.GET["q"], style == "concat")})


def scores(request):
    return _json(dict(Item.objects.values_list("name", "score")))


def create_table():
    """The model's table, holding alice 10, bob 20 and O'Brien 30."""
    with connection.schema_editor() as editor:
        editor.create_model(Item)
    for name, score in (("alice", 10), ("bob", 20), ("O'Brien", 30)):
        Item.objects.create(name=name, score=score)


def drop_table():
    with connection.schema_editor() as editor:
        editor.delete_model(Item)
