"""The one normalisation of a place name (the gazetteer's lookup key) and the kinds of names in the index."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

PRIMARY, ALTERNATE, LOCALISED = 0, 1, 2  # names.kind: the place's own name, an alternate, a country name in a locale


@lru_cache(maxsize=262144)
def name_key(name: str) -> str:
    """Case-, accent- and punctuation-insensitive key: "Gdańsk" = "gdansk", "U.S." = "us"."""
    if name.isascii():   # most names: NFKD changes nothing and no mark is combining (the same key, 5x faster)
        plain = name.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", name.replace("’", "'"))
        plain = decomposed if decomposed.isascii() else "".join(
            ch for ch in decomposed if not unicodedata.combining(ch))
        plain = plain.casefold()
    plain = plain.replace(".", "").replace("-", " ")
    return " ".join(plain.split())
