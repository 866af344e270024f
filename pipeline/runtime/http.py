"""The worker's HTTP endpoints: /health (liveness), /ready (readiness), /metrics (Prometheus text format).

The server runs on the worker's event loop, so /health stops answering when the loop is blocked. It is a
Faust sensor only for its place in the start order: sensors start first and stop last, so /health and
/ready answer (503) while models load and the group joins, and until the worker has stopped.
"""

from __future__ import annotations

import logging
import socket

import faust
import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from . import metrics
from .health import EXIT_CONFIG, Readiness, readiness

log = logging.getLogger("newsfeed.http")


def bind(host: str, port: int) -> socket.socket:
    """Take the port at import time, so a port in use stops the worker at once with a clear message
    (a second worker on one host needs its own NEWSFEED_HTTP_PORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        log.critical("cannot serve HTTP on %s:%s: %s; set NEWSFEED_HTTP_PORT to a free port (0 turns the "
                     "server off)", host, port, exc.strerror or exc)
        raise SystemExit(EXIT_CONFIG) from None
    return sock


async def get_health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


def ready_handler(ready: Readiness):
    async def get_ready(_request: web.Request) -> web.Response:
        report = ready.report()
        return web.Response(body=orjson.dumps(report), status=200 if report["ready"] else 503,
                            content_type="application/json")
    return get_ready


async def get_metrics(_request: web.Request) -> web.Response:
    # collectors (consumer lag) run here, at scrape time: nothing is computed per record for them
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


def routes(ready: Readiness = readiness) -> web.Application:
    application = web.Application()
    application.add_routes([web.get("/health", get_health), web.get("/ready", ready_handler(ready)),
                             web.get("/metrics", get_metrics)])
    return application


class HttpServer(faust.Sensor):
    """Serves `routes()` on a socket bound beforehand by `bind`."""

    def __init__(self, sock: socket.socket, **kwargs):
        super().__init__(**kwargs)
        self.sock = sock
        self.runner: web.AppRunner | None = None

    async def on_start(self) -> None:
        self.runner = web.AppRunner(routes(), access_log=None)
        await self.runner.setup()
        await web.SockSite(self.runner, self.sock).start()
        host, port = self.sock.getsockname()[:2]
        log.info("newsfeed: HTTP on http://%s:%s (/health /ready /metrics)", host, port)

    async def on_stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def serve(app: faust.App, host: str, port: int, stages=()) -> None:
    """Serve the endpoints from `app`'s worker and record its metrics (`stages`' counters at 0 from the
    start), unless port is 0."""
    if port:
        sock = bind(host, port)
        metrics.install(app, stages)
        app.sensors.add(HttpServer(sock))


def serve_in_thread(sock: socket.socket, ready: Readiness):
    """The same endpoints for a process without a Faust worker (the feed poller): an event loop in a daemon
    thread; /health answers while that loop runs. Returns a function that stops the server."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(routes(ready), access_log=None)
    started = threading.Event()

    async def start() -> None:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        started.set()

    def run() -> None:
        loop.run_until_complete(start())
        loop.run_forever()

    threading.Thread(target=run, name="newsfeed-http", daemon=True).start()
    started.wait(10)
    host, port = sock.getsockname()[:2]
    log.info("newsfeed: HTTP on http://%s:%s (/health /ready /metrics)", host, port)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
    return stop
