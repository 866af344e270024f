"""`newsfeed web`: a page with the stories open now, their articles and places on a world map, filters, and
the pipeline's health, updated live (pipeline/runtime/web_*.py)."""

from __future__ import annotations

import typer

from pipeline.config import Settings
from pipeline.kafka.acls import WEB_GROUP
from pipeline.kafka.authorization import Needs

from .common import cli, console, needs_acls, require_broker, settings_or_exit

DEFAULT_GROUP = WEB_GROUP


def serve_web(settings: Settings, address: str, host: str, port: int, look_back: int, group: str) -> None:
    """Read the broker into the page's state and serve it until Ctrl-C or SIGTERM."""
    from pipeline.runtime.web_reader import NewsReader
    from pipeline.runtime.web_server import listen, make_app, serve
    from pipeline.runtime.web_state import NewsState

    try:
        sock = listen(host, port)
    except OSError as exc:
        console.print(f"[red]newsfeed web: cannot listen on {host}:{port}: {exc.strerror or exc}[/red] "
                      "(pass --port with a free port)")
        raise typer.Exit(1)
    state = NewsState(idle_hours=settings.story_idle_hours)
    reader = NewsReader(settings, address, state, group, look_back).start()
    problem = lambda: None if reader.error is None else f"reader stopped: {reader.error}"  # noqa: E731
    try:
        serve(make_app(state, problem), sock, lambda url: console.print(
            f"newsfeed web: serving on {url} (group {group}, look-back {look_back} records a partition; "
            "Ctrl-C stops)", highlight=False, soft_wrap=True))
    finally:
        reader.stop()


@cli.command()
def web(port: int = typer.Option(8080, "--port", min=0, max=65535, help="port to serve on (0: any free port)"),
        host: str = typer.Option("127.0.0.1", "--host", help="address to bind: loopback unless told otherwise "
                                 "(0.0.0.0 in a container)"),
        look_back: int = typer.Option(5000, "--look-back", min=0, help="enriched and dead-letter records read "
                                      "back from the end of each partition at start (stories: all open ones)"),
        group: str = typer.Option(DEFAULT_GROUP, "--group", help="the page's own consumer group (never "
                                  "committed); one per running page")) -> None:
    """A read-only web page: open stories, their articles and places on a world map, filters, pipeline health."""
    settings = settings_or_exit()
    needs_acls(settings, Needs("newsfeed web", ops={"topic": "Read", "group": "Read"}, names={"group": group},
                               hints={"group": "pass --group with a group it may read, or grant Read on "
                                               f"the group {group}"}))
    serve_web(settings, require_broker(settings), host, port, look_back, group)
