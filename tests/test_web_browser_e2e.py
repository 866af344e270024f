"""`newsfeed web` in a real browser (Debian's Chromium, driven by Playwright) against the real stack, on both
engines: the page is open before the replay; the seeds' stories and their places appear without a reload;
a click shows a story's articles; the map has the places' markers; a hostile title renders as text; no
console errors. Screenshots go to out/test-artifacts/ (printed in the log)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, SEEDS, open_story_ids, wait_for_workers
from http_helpers import free_port

pytestmark = pytest.mark.slow
NEWSFEED = str(Path(sys.executable).with_name("newsfeed"))
CHROMIUM = "/usr/bin/chromium"
HOSTILE = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> Grève à Paris"
ARTIFACTS = ROOT / "out" / "test-artifacts"


def start_web(stack, port: int) -> subprocess.Popen:
    """The command as a user types it, with the stack's settings and its own group."""
    log = open(stack.output / "web.log", "wb")
    proc = subprocess.Popen([NEWSFEED, "web", "--port", str(port), "--group",
                             f"newsfeed-web-{stack.prefix}"], env={**os.environ, **stack.env}, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return proc
        except OSError:
            assert proc.poll() is None, (stack.output / "web.log").read_text()
            time.sleep(0.3)
    raise AssertionError(f"newsfeed web did not answer: {(stack.output / 'web.log').read_text()}")


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is installed by .ci/run (as root)")
def test_stories_and_places_appear_live(stack_factory, tmp_path, engine):
    from playwright.sync_api import sync_playwright

    from pipeline.runtime.web_state import article_view   # the title shown: the record's, else its text's start

    stack = stack_factory()
    stack.start_worker()
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text(json.dumps({"id": "hostile-1", "source": "hostile.example", "title": HOSTILE,
                                   "text": "Les cheminots ont manifesté mardi à Lyon et à Marseille contre la "
                                           "réforme présentée par le gouvernement."}) + "\n")
    port = free_port()
    web = start_web(stack, port)
    console_errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#countries path")   # the offline map is drawn before any data
            wait_for_workers(stack, settle=0)
            keys = stack.replay_paths([SEEDS, hostile])
            enriched = list(stack.outcomes(keys).records["enriched"].values())
            stories = open_story_ids(enriched)
            places = {p["geonameid"]: p["name"] for r in enriched for p in r.get("places") or []}
            # no reload from here on: the page's polling brings every story and the recent places' markers
            try:
                page.wait_for_function("ids => { const shown = [...document.querySelectorAll('#stories tbody tr')]"
                                       ".map(tr => tr.dataset.id).sort(); return JSON.stringify(shown) === ids; }",
                                       arg=json.dumps(sorted(stories), separators=(",", ":")), timeout=60_000)
            except Exception:
                listed = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stories", timeout=5).read()
                raise AssertionError(f"expected stories {sorted(stories)}; the server lists {listed[:3000]!r}; "
                                     f"web.log: {(stack.output / 'web.log').read_text()[-3000:]}")
            page.wait_for_function(f"() => document.querySelectorAll('#markers circle').length === {len(places)}",
                                   timeout=30_000)
            marked = page.eval_on_selector_all("#markers circle title", "ts => ts.map(t => t.textContent)")
            assert places and {t.rpartition(" (")[0] for t in marked} == set(places.values())
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / f"web-seeds-{engine}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")

            headlines = page.eval_on_selector_all("#stories tbody td.headline", "ts => ts.map(t => t.textContent)")
            assert HOSTILE in headlines   # the markup came through as the text it is
            assert page.evaluate("window.__pwned") is None
            assert page.locator("#stories img, #stories script").count() == 0

            largest = max(stories, key=lambda s: sum(r["story"]["id"] == s for r in enriched))
            page.click(f"#stories tbody tr[data-id='{largest}']")
            page.wait_for_selector("#detail-articles li")
            titles = {article_view(r)["title"] for r in enriched if r["story"]["id"] == largest}
            shown = page.eval_on_selector_all("#detail-articles li > :first-child", "ts => ts.map(t => t.textContent)")
            assert set(shown) == titles
            page.wait_for_function("() => document.getElementById('map-note').textContent.includes('selected story')")
            page.screenshot(path=str(ARTIFACTS / f"web-story-{engine}.png"), full_page=True)
            print(f"screenshot: {ARTIFACTS / f'web-story-{engine}.png'}")
            browser.close()
    finally:
        web.terminate()
        web.wait(timeout=20)
    assert console_errors == []
    assert web.returncode == 0, (stack.output / "web.log").read_text()
