"""`newsfeed web`'s state and server without a broker: bounded state, filters and pages, the page's headers,
read-only routes. (The page in a real browser against the real stack: test_web_browser_e2e.py.)"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp.test_utils import TestClient, TestServer

from pipeline.runtime.web_server import CSP, make_app
from pipeline.runtime.web_state import NewsState


def summary(i: int, when: str = "2026-12-05T12:00:00Z", **extra) -> dict:
    return {"schema_version": 1, "id": f"st-{i:016x}", "headline": f"Story {i}", "languages": {"fr": 1},
            "sources": {"lemonde.fr": 1}, "articles": 1, "first_seen": when, "last_seen": when, "updated_at": when,
            "entities": [{"name": "Emmanuel Macron", "label": "PER", "count": 2}], **extra}


def article(n: int, story: int, when: str = "2026-12-05T12:00:00Z", code: str = "FR") -> dict:
    return {"id": f"a{n}", "source": "lemonde.fr", "title": f"Article {n}", "url": f"https://lemonde.fr/{n}",
            "published_at": when, "ingested_at": when, "language": {"code": "fr"}, "story": {"id": f"st-{story:016x}"},
            "places": [{"name": "Paris", "geonameid": 2988507, "country_code": code, "lat": 48.85, "lon": 2.35}],
            "countries": [{"code": code, "count": 1, "focus": True}]}


def test_articles_kept_per_story_are_capped_and_newest_first():
    state = NewsState(articles_per_story=3)
    state.add_story("st-0000000000000000", summary(0))
    for n in range(10):
        state.add_article(article(n, 0))
    story = state.story("st-0000000000000000")
    assert [a["title"] for a in story["articles_kept"]] == ["Article 9", "Article 8", "Article 7"]
    assert story["places"] == [{"id": 2988507, "name": "Paris", "country": "FR", "lat": 48.85, "lon": 2.35,
                                "count": 10}]
    assert state.pipeline()["articles_read"] == 10


def test_idle_stories_are_dropped_with_their_articles_and_the_cap_holds():
    state = NewsState(idle_hours=48, max_stories=100)
    state.add_story("st-0000000000000000", summary(0, "2026-12-01T00:00:00Z"))
    state.add_article(article(0, 0, "2026-12-01T00:00:00Z"))
    state.add_story("st-0000000000000001", summary(1, "2026-12-05T00:00:00Z"))   # 4 days later: story 0 closed
    assert state.story("st-0000000000000000") is None and state.story("st-0000000000000001") is not None
    for i in range(2, 300):
        state.add_story(f"st-{i:016x}", summary(i, "2026-12-05T00:00:00Z"))
    assert len(state.entries) <= 100


def test_filters_search_and_pages():
    state = NewsState()
    for i in range(250):
        state.add_story(f"st-{i:016x}", summary(i, f"2026-12-05T12:{i % 60:02d}:00Z",
                                                languages={"fr" if i % 2 else "en": 1}))
        state.add_article(article(i, i, code="FR" if i % 3 else "UA"))
    page = state.stories(offset=100, limit=100)
    assert (page["total"], page["open"], len(page["stories"])) == (250, 250, 100)
    last_seen = [s["last_seen"] for s in state.stories(limit=250)["stories"]]
    assert last_seen == sorted(last_seen, reverse=True)
    assert state.stories(language="en")["total"] == 125
    assert state.stories(country="UA")["total"] == 84
    assert state.stories(query="story 24")["total"] == 11   # 24, 240-249
    assert state.stories(entity="macron")["total"] == 250 and state.stories(entity="poutine")["total"] == 0
    assert state.stories(source="nowhere.example")["total"] == 0
    facets = state.facets()
    assert dict(facets["languages"]) == {"fr": 125, "en": 125} and dict(facets["countries"]) == {"FR": 166, "UA": 84}


def test_dead_letters_by_reason_and_last_errors():
    state = NewsState(errors_kept=2)
    for kind in ("bad_json", "bad_json", "empty_text"):
        state.add_dead_letter({"stage": "language", "error": {"kind": kind, "message": f"<b>{kind}</b>"},
                               "failed_at": "2026-12-05T12:00:00Z", "id": None})
    pipeline = state.pipeline()
    assert pipeline["dead_letters"] == [("language: bad_json", 2), ("language: empty_text", 1)]
    assert [e["kind"] for e in pipeline["last_errors"]] == ["empty_text", "bad_json"]


def test_server_headers_routes_and_read_only():
    state = NewsState()
    state.add_story("st-0000000000000000", summary(0, headline="<script>alert(1)</script>"))

    async def check() -> None:
        async with TestClient(TestServer(make_app(state))) as client:
            page = await client.get("/")
            assert page.status == 200 and page.headers["Content-Security-Policy"] == CSP
            assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
            assert page.headers["X-Content-Type-Options"] == "nosniff"
            for asset in ("app.js", "app.css", "world.json", "favicon.svg"):
                assert (await client.get(f"/static/{asset}")).status == 200
            assert (await client.get("/static/../web_server.py")).status == 404
            stories = orjson.loads(await (await client.get("/api/stories")).read())
            assert stories["stories"][0]["headline"] == "<script>alert(1)</script>"   # data, escaped by the page
            assert (await client.get("/api/story/st-0000000000000000")).status == 200
            assert (await client.get("/api/story/st-ffffffffffffffff")).status == 404
            assert (await client.get("/api/stories?offset=x")).status == 400
            for method in ("POST", "PUT", "DELETE"):
                assert (await client.request(method, "/api/stories")).status == 405
            world = orjson.loads(await (await client.get("/static/world.json")).read())
            assert len(world["countries"]) > 170 and {"FR", "UA", "US"} <= {c["code"] for c in world["countries"]}

    asyncio.run(check())


def test_page_script_never_writes_markup():
    """The page's script puts every string with textContent: no innerHTML, outerHTML, insertAdjacentHTML,
    document.write or eval anywhere in it (the CSP would refuse an inline script too)."""
    from pipeline.runtime.web_server import STATIC

    script = (STATIC / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script


def test_a_stopped_reader_turns_health_503_and_the_page_says_so():
    async def check() -> None:
        async with TestClient(TestServer(make_app(NewsState(), lambda: "reader stopped: refused"))) as client:
            assert (await client.get("/health")).status == 503
            pipeline = orjson.loads(await (await client.get("/api/pipeline")).read())
            assert pipeline["problem"] == "reader stopped: refused"

    asyncio.run(check())


def test_what_is_shown_does_not_depend_on_the_order_the_topics_are_read_in():
    """An old story (article time 2025-03, a month-precision date) next to today's: in article time it is idle
    past 48 h, so it is not shown, whether its summary is read before or after today's records."""
    old, new = summary(1, "2025-03-01T00:00:00Z"), summary(2)
    old_article = {**article(1, 1), "published_at": "2025-03"}
    orders = [[("s", old), ("a", old_article), ("s", new), ("a", article(2, 2))],
              [("s", new), ("a", article(2, 2)), ("s", old), ("a", old_article)]]
    for order in orders:
        state = NewsState()
        for kind, item in order:
            state.add_story(item["id"], item) if kind == "s" else state.add_article(item)
        assert [row["id"] for row in state.stories()["stories"]] == [new["id"]], order
        assert state.story(old["id"]) is None and state.pipeline()["open_stories"] == 1
