"""The HTTP side of `newsfeed web`: the page and its JSON, read-only (GET only), from a NewsState.

Every article string reaches the page as JSON and is put in the document with textContent (web_static/app.js);
the Content-Security-Policy below allows no inline script, no other origin and no plugin, so even a string
that slipped into markup could not run.
"""

from __future__ import annotations

import socket
from importlib import resources
from typing import Callable

import orjson
from aiohttp import web

from .web_state import NewsState

STATIC = resources.files("pipeline.runtime") / "web_static"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
         ".svg": "image/svg+xml"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


@web.middleware
async def secure_headers(request: web.Request, handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.update(HEADERS)
    return response


def _json(data) -> web.Response:
    return web.Response(body=orjson.dumps(data), content_type="application/json")


def make_app(state: NewsState, healthy: Callable[[], str | None] = lambda: None) -> web.Application:
    """`healthy()`: None while the readers run, else why they stopped (then /health answers 503)."""
    assets = {path.name: path.read_bytes() for path in STATIC.iterdir() if "." + path.name.rpartition(".")[2] in TYPES}

    async def page(_request: web.Request) -> web.Response:
        return web.Response(body=assets["index.html"], content_type="text/html", charset="utf-8")

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in assets:
            raise web.HTTPNotFound()
        return web.Response(body=assets[name], content_type=TYPES["." + name.rpartition(".")[2]])

    async def favicon(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/static/favicon.svg")

    async def stories(request: web.Request) -> web.Response:
        q = request.query
        try:
            offset, limit = max(0, int(q.get("offset", 0))), max(1, int(q.get("limit", 100)))
        except ValueError:
            raise web.HTTPBadRequest(text="offset and limit are integers") from None
        return _json(state.stories(offset, limit, q.get("language", ""), q.get("country", ""), q.get("source", ""),
                                   q.get("entity", ""), q.get("q", "")))

    async def story(request: web.Request) -> web.Response:
        found = state.story(request.match_info["id"])
        if found is None:
            raise web.HTTPNotFound(text="no such open story")
        return _json(found)

    async def places(request: web.Request) -> web.Response:
        return _json(state.places(request.query.get("story") or None))

    async def facets(_request: web.Request) -> web.Response:
        return _json(state.facets())

    async def pipeline(_request: web.Request) -> web.Response:
        return _json({**state.pipeline(), "problem": healthy()})

    async def health(_request: web.Request) -> web.Response:
        problem = healthy()
        return _json({"ok": problem is None, "problem": problem}) if problem is None else \
            web.Response(status=503, body=orjson.dumps({"ok": False, "problem": problem}),
                         content_type="application/json")

    app = web.Application(middlewares=[secure_headers])
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/api/stories", stories)
    app.router.add_get("/api/story/{id}", story)
    app.router.add_get("/api/places", places)
    app.router.add_get("/api/facets", facets)
    app.router.add_get("/api/pipeline", pipeline)
    app.router.add_get("/health", health)
    return app


def listen(host: str, port: int) -> socket.socket:
    """Bind before anything else starts, so a port in use is a clear error at once (OSError)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(app: web.Application, sock: socket.socket, on_ready: Callable[[str], None]) -> None:
    """Serve until Ctrl-C or SIGTERM (aiohttp's run_app handles both)."""
    host, port = sock.getsockname()[:2]
    on_ready(f"http://{f'[{host}]' if ':' in host else host}:{port}/")
    web.run_app(app, sock=sock, print=None, handle_signals=True)
