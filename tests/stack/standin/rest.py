"""PostgREST subset — placeholder."""
from aiohttp import web


async def handle_root(request):
    return web.json_response({"swagger": "2.0", "info": {"title": "standin"}})


def setup(app):
    app.router.add_get("/rest/v1/", handle_root)
