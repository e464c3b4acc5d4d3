"""Builds the aiohttp Application of the stand-in.

Shared objects live in app['ctx'] (class Ctx): config, db (Database), faults (Faults), keys
(keys.ProjectKeys), stats (gateway.Stats), dir, port, dsn.
Order of setup: gateway, auth, rest, faults, then realtime (written separately; imported only if present).
"""
import importlib
import importlib.util
import logging
import time
import traceback

from aiohttp import web

from . import auth, config, faults, gateway, jwtutil, rest
from .db import Database
from .faults import Faults
from .keys import ProjectKeys

log = logging.getLogger("standin")


class Ctx:
    def __init__(self, dir, port, dsn):
        self.config = config
        self.dir = dir
        self.port = port
        self.dsn = dsn
        self.db = Database(dsn)
        self.faults = Faults()
        self.keys = _project_keys(dir)
        jwtutil.use_keys(self.keys)
        self.started_at = time.time()
        self.realtime_error = None

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port


def _project_keys(dir):
    """The stack's keys (written by `stack up`); a stand-in started by hand makes its own."""
    try:
        return ProjectKeys.load(dir or ".")
    except (OSError, ValueError, KeyError):
        keys = ProjectKeys.create()
        if dir:
            keys.save(dir)
        log.warning("no keys.json in %s: created new project keys", dir)
        return keys


async def handle_health(request):
    ctx = request.app["ctx"]
    db_ok = True
    try:
        async with ctx.db.connection() as conn:
            await conn.execute("select 1")
    except Exception:
        db_ok = False
    body = {"ok": db_ok, "db": db_ok, "port": ctx.port,
            "realtime": ctx.realtime_error is None,
            "uptime_s": round(time.time() - ctx.started_at, 3)}
    if ctx.realtime_error:
        body["realtime_error"] = ctx.realtime_error
    return web.json_response(body, status=200 if db_ok else 503)


async def _on_startup(app):
    await app["ctx"].db.open()


async def _on_cleanup(app):
    await app["ctx"].db.close()


def build_app(dir=None, port=0, dsn=None):
    app = web.Application(client_max_size=8 * 1024 * 1024)
    ctx = Ctx(dir, port, dsn)
    app["ctx"] = ctx
    app.on_startup.append(_on_startup)
    app.on_cleanup.append(_on_cleanup)
    app.router.add_get("/_stack/health", handle_health)

    gateway.setup(app)              # outermost middleware: keys are checked before anything else
    auth.setup(app)
    rest.setup(app)
    faults.setup(app)
    app.middlewares.append(faults.fault_middleware)

    if importlib.util.find_spec(__package__ + ".realtime") is not None:
        try:
            realtime = importlib.import_module(__package__ + ".realtime")
            realtime.setup(app)
        except Exception:
            ctx.realtime_error = traceback.format_exc(limit=3)
            log.error("realtime.setup failed:\n%s", traceback.format_exc())
    else:
        ctx.realtime_error = "standin/realtime.py not present"
    return app
