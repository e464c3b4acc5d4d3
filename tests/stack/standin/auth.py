"""Supabase Auth (GoTrue) subset — placeholder, filled in below."""
from aiohttp import web


async def handle_health(request):
    return web.json_response({"version": "standin", "name": "GoTrue", "description": "stand-in"})


def setup(app):
    app.router.add_get("/auth/v1/health", handle_health)
