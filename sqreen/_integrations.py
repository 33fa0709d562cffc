"""The table of integrations, and their registration with the import hook.

Each row names a module to watch, the function that patches it (as
``"package.module:function"``, imported only when the watched module is) and
the distribution that ships it (for ``sqreen doctor``). Nothing here imports
a framework: registering a row costs a dict entry until the app imports the
module itself.
"""
from sqreen import _log

#: (watched module, "patch.module:function", distribution name)
INTEGRATIONS = (
    ("django", "sqreen.integrations.django:patch", "Django"),
    ("django.contrib.auth", "sqreen.integrations.django_auth:patch", "Django"),
    ("flask", "sqreen.integrations.flask:patch", "Flask"),
    ("pyramid.router", "sqreen.integrations.pyramid:patch", "pyramid"),
    ("aiohttp.web", "sqreen.integrations.aiohttp:patch", "aiohttp"),
    ("sqlite3", "sqreen.integrations.sqlite3:patch", None),
    ("psycopg2", "sqreen.integrations.psycopg2:patch", "psycopg2"),
    ("pymysql", "sqreen.integrations.pymysql:patch", "PyMySQL"),
    ("MySQLdb", "sqreen.integrations.mysqldb:patch", "mysqlclient"),
    ("jinja2", "sqreen.integrations.jinja2:patch", "Jinja2"),
    ("django.template.base", "sqreen.integrations.django_templates:patch", "Django"),
    ("pymongo", "sqreen.integrations.pymongo:patch", "pymongo"),
    ("os", "sqreen.integrations.shell:patch_os", None),
    ("subprocess", "sqreen.integrations.shell:patch_subprocess", None),
    ("commands", "sqreen.integrations.shell:patch_commands", None),
    ("gevent.subprocess", "sqreen.integrations.shell:patch_subprocess", "gevent"),
    ("os", "sqreen.integrations.files:patch", None),
    ("shutil", "sqreen.integrations.files:patch_shutil", None),
    ("pathlib", "sqreen.integrations.files:patch_pathlib", None),
    ("flask", "sqreen.integrations.files:patch_flask", "Flask"),
    ("urllib.request", "sqreen.integrations.urllib_request:patch", None),
    ("urllib2", "sqreen.integrations.urllib_request:patch", None),
    ("http.client", "sqreen.integrations.http_client:patch", None),
    ("httplib", "sqreen.integrations.http_client:patch", None),
    ("urllib3", "sqreen.integrations.urllib3:patch", "urllib3"),
    ("requests", "sqreen.integrations.requests:patch", "requests"),
    ("httpx", "sqreen.integrations.httpx:patch", "httpx"),
    ("aiohttp", "sqreen.integrations.aiohttp_client:patch", "aiohttp"),
)


def _resolve(target):
    module_name, _, attr = target.partition(":")
    module = __import__(module_name, None, None, [attr or "patch"], 0)
    return getattr(module, attr or "patch")


def deferred_patch(target):
    """An import-hook callback that imports ``target`` and applies it to the module, never raising."""

    def callback(module):
        try:
            _resolve(target)(module)
        except Exception:
            _log.log_once(
                "integration:" + target, "sqreen: integration %s failed; %s stays unprotected",
                target, getattr(module, "__name__", module), exc_info=True,
            )

    callback.__name__ = "sqreen_patch_" + target.replace(".", "_").replace(":", "__")
    return callback


def register_all(register, table=None):
    """Register every row of ``table`` (default: :data:`INTEGRATIONS`) through ``register(name, cb)``.

    Returns what ``register`` returned for each row (the engine's removable handles); a row that
    fails to register is logged once and skipped.
    """
    handles = []
    for module_name, target, _ in INTEGRATIONS if table is None else table:
        try:
            handle = register(module_name, deferred_patch(target))
        except Exception:
            _log.log_once("integration-register:" + module_name,
                          "sqreen: cannot watch %s", module_name, exc_info=True)
            continue
        handles.append(handle)
    return handles
