"""Synthetic news load built from the seed texts, deterministic for a given random seed.

- unique articles: sentences drawn from the whole seed pool, recombined into paragraphs, with a quarter
  of their words swapped for other seed words, so two synthetic articles never share much (word-5-shingle
  Jaccard well under 0.1) even when they drew the same sentences;
- exact copies: the same text under a new id;
- near duplicates: boilerplate added, a new headline line, ~2 % of words edited, or the last paragraph cut.

The ground truth (which article copies which) is returned with the articles so dedup can be scored.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.contracts.records import raw_article
from pipeline.stages.text import clean

BOILERPLATE = ("Abonnez-vous à notre newsletter pour recevoir chaque matin l'essentiel de l'actualité "
               "internationale. Tous droits réservés : toute reproduction, même partielle, est interdite "
               "sans autorisation écrite de la rédaction.")
HEADLINES = ["Ukraine : les discussions se poursuivent", "Diplomatie : nouvelle journée de tractations",
             "Guerre en Ukraine : ce qu'il faut retenir", "Cessez-le-feu : Moscou et Washington en contact",
             "Russie-Ukraine : l'essentiel de la journée"]
NEAR_KINDS = ("boilerplate", "headline", "word_edits", "truncated")
_SENTENCE = re.compile(r"(?<=[.!?»])\s+(?=[A-ZÀ-Ý«\"])")


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def sentences(text: str) -> list[str]:
    return [s.strip() for p in paragraphs(text) for s in _SENTENCE.split(p) if len(s.split()) >= 6]


def add_boilerplate(text: str, rng: random.Random) -> str:
    return f"{text}\n\n{BOILERPLATE}"


def change_headline(text: str, rng: random.Random) -> str:
    return f"{rng.choice(HEADLINES)}\n\n{text}"


def edit_words(text: str, rng: random.Random, fraction: float = 0.02) -> str:
    """Replace ~fraction of the words by other words of the same text (typo fixes, small rewrites)."""
    tokens = re.split(r"(\s+)", text)
    word_positions = [i for i, t in enumerate(tokens) if t.strip()]
    vocabulary = [tokens[i] for i in word_positions]
    for i in rng.sample(word_positions, max(1, round(len(word_positions) * fraction))):
        tokens[i] = rng.choice(vocabulary)
    return "".join(tokens)


def cut_last_paragraph(text: str, rng: random.Random) -> str:
    paras = paragraphs(text)
    if len(paras) >= 3:
        return "\n\n".join(paras[:-1])
    sents = _SENTENCE.split(text)  # one block of text: cut its last fifth instead
    return " ".join(sents[: max(1, len(sents) - max(1, len(sents) // 5))])


VARIANTS = {"boilerplate": add_boilerplate, "headline": change_headline, "word_edits": edit_words,
            "truncated": cut_last_paragraph}


def near_duplicate(text: str, kind: str, rng: random.Random) -> str:
    return VARIANTS[kind](text, rng)


def seed_texts(seed_dir: Path) -> list[str]:
    """The cleaned texts of the directory's .txt articles; a ValueError (exit 2) naming it when there are none,
    e.g. the default `seeds/` outside the newsfeed checkout."""
    seed_dir = Path(seed_dir)
    texts = [clean(p.read_text("utf-8")).text for p in sorted(seed_dir.glob("*.txt"))]
    if not any(sentences(t) for t in texts):
        found = "no such directory" if not seed_dir.is_dir() else "no .txt article with whole sentences in it"
        raise ValueError(f"the synthetic load is built from seed articles, and {seed_dir}/ has none ({found}): "
                         "run from the newsfeed checkout (its seeds/), or name a directory of .txt articles")
    return texts


@dataclass
class Synthetic:
    articles: list[dict[str, Any]]
    truth: dict[str, dict[str, Any]]   # id -> {"kind": unique|exact|near, "of": original id, "variant": ...}


def parse_mix(mix: str) -> dict[str, float]:
    """'unique=0.8,exact=0.1,near=0.1' -> normalised weights."""
    weights = {}
    for part in mix.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in ("unique", "exact", "near"):
            raise ValueError(f"--mix: unknown kind {name!r} (use unique, exact, near)")
        weights[name] = float(value)
    if not weights.get("unique"):
        raise ValueError("--mix needs unique > 0: copies need originals")
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


def synthesize(n: int, seed_dir: Path, mix: str = "unique=0.8,exact=0.1,near=0.1", seed: int = 0,
               source: str = "synthetic", swap_fraction: float = 0.25, length: str = "short") -> Synthetic:
    """`swap_fraction=0` keeps drawn sentences verbatim: uniques then share whole sentences (up to
    Jaccard ~0.5 at a few thousand articles), a hard negative set for tuning the dedup threshold.

    `length`: "short" draws 8-16 sentences (~2,000 chars, about half a seed article); "seed" draws
    sentences until a length picked between the shortest and the longest seed article (~3,000-6,000
    chars), the article length NER throughput is quoted for."""
    if length not in ("short", "seed"):
        raise ValueError(f"length: {length!r} is not 'short' or 'seed'")
    rng = random.Random(seed)
    weights = parse_mix(mix)
    texts = seed_texts(seed_dir)
    pool = [s for text in texts for s in sentences(text)]
    shortest, longest = min(map(len, texts)), max(map(len, texts))
    articles: list[dict[str, Any]] = []
    truth: dict[str, dict[str, Any]] = {}
    originals: list[dict[str, Any]] = []
    kinds = list(weights)
    for i in range(n):
        kind = "unique" if not originals else rng.choices(kinds, [weights[k] for k in kinds])[0]
        ident = f"syn-{seed}-{i:06d}"
        if kind == "unique":
            if length == "short":
                picked = rng.sample(pool, k=min(len(pool), rng.randint(8, 16)))
            else:
                target, order = rng.randint(shortest, longest), rng.sample(pool, k=len(pool))
                picked, size = [], 0
                while order and size < target:
                    picked.append(order.pop())
                    size += len(picked[-1]) + 1
            cut = sorted(rng.sample(range(1, len(picked)), k=min(3, len(picked) - 1)))
            paras = [" ".join(picked[a:b]) for a, b in zip([0] + cut, cut + [len(picked)])]
            # a quarter of the words swapped for other seed words: two articles that drew the same
            # sentences still share almost no 5-word shingle, so uniques are never near-duplicates
            text = "\n\n".join(paras)
            if swap_fraction:
                text = edit_words(text, rng, fraction=swap_fraction)
            article = raw_article(id=ident, source=source, text=text, title=None)
            originals.append(article)
            truth[ident] = {"kind": "unique"}
        else:
            original = rng.choice(originals)
            if kind == "exact":
                text, variant = original["text"], None
            else:
                variant = rng.choice(NEAR_KINDS)
                text = near_duplicate(original["text"], variant, rng)
            article = raw_article(id=ident, source=source, text=text)
            truth[ident] = {"kind": kind, "of": original["id"], "variant": variant}
        articles.append(article)
    return Synthetic(articles, truth)
