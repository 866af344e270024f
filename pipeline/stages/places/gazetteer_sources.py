"""The sources the places index (pipeline/stages/places/gazetteer.py) is built from, read once per machine: points
of regions and countries, country names in every locale pycountry has, and the word frequencies of names."""

from __future__ import annotations

import math
import os


def midrange(points: list[tuple[float, float]], trim: float = 0.02) -> tuple[float, float]:
    """Centre of the box of a region's towns (a province, a county, a country countryinfo does not know):
    no package gives their GeoNames point. `trim` drops that share of the extremes on each side (a country's
    far-off islands); GeoNames' point of a province is near the centre of its whole box (Ontario's far
    north has few towns, but it is Ontario), so regions keep every town."""
    lats, lons = sorted(p[0] for p in points), sorted(p[1] for p in points)
    lo, hi = int(len(lats) * trim), max(0, math.ceil(len(lats) * (1 - trim)) - 1)
    return round((lats[lo] + lats[hi]) / 2, 4), round((lons[lo] + lons[hi]) / 2, 4)


def country_point(code: str) -> tuple[float, float] | None:
    """A country's point: the centroid of its largest polygon in Natural Earth (country_points.py, generated
    by offline/country_points.py), near GeoNames' centre of the main landmass (United States 102 km off, 235
    with `countryinfo`'s); `countryinfo`'s (MIT) for the small countries Natural Earth's 1:110m map lacks.
    No package ships GeoNames' own country points (BENCHMARKS.md lists those checked)."""
    from countryinfo import CountryInfo

    from pipeline.stages.places.country_points import COUNTRY_POINTS

    if code in COUNTRY_POINTS:
        return COUNTRY_POINTS[code]
    try:
        lat, lon = CountryInfo(code).latlng()
    except Exception:  # noqa: BLE001 - CountryNotFoundError (Kosovo) and a few without coordinates
        return None
    return float(lat), float(lon)


def country_names() -> dict[str, set[tuple[str, str]]]:
    """ISO alpha-2 -> {(name, locale)} from pycountry's translations (English names with locale 'en')."""
    import gettext
    import pycountry

    names: dict[str, set[tuple[str, str]]] = {}
    english = {}
    for country in pycountry.countries:
        forms = {country.name, getattr(country, "common_name", country.name),
                 getattr(country, "official_name", country.name)}
        english[country.alpha_2] = forms
        names.setdefault(country.alpha_2, set()).update((f, "en") for f in forms)
    for locale in sorted(os.listdir(pycountry.LOCALES_DIR)):
        try:
            translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale])
        except OSError:
            continue
        lang = locale.split("_")[0].split("@")[0]
        for code, forms in english.items():
            for form in forms:
                translated = translation.gettext(form)
                if translated != form or lang == "en":
                    names[code].add((translated, lang))
    # an inverted official form names the country by its head: "Russie, Fédération de" is "Russie", "Iran,
    # République islamique d'" "Iran"; not a head two countries share ("Corée", "Congo")
    heads: dict[tuple[str, str], set[str]] = {}
    for code, forms in names.items():
        for form, lang in forms:
            if ", " in form:
                heads.setdefault((form.split(", ")[0], lang), set()).add(code)
    for (head, lang), codes in heads.items():
        if len(codes) == 1:
            names[next(iter(codes))].add((head, lang))
    return names


def word_statistics(surfaces: dict[str, set[str]]):
    """(key, lang, zipf) for the names that may be recognised in text and are words of some language
    (Zipf >= 3), and (lang, word) for each language's 400 most frequent words: wordfreq's tables cost
    30-70 MB per language in a process, these rows a few pages of the shared index."""
    import wordfreq

    keys_of: dict[str, list[str]] = {}  # written form -> the keys it is a form of
    for key, forms in surfaces.items():   # key -> its written forms, for every name that may be recognised
        for form in forms:
            keys_of.setdefault(form, []).append(key)
    common, function_words = [], []
    for lang in sorted(wordfreq.available_languages("best")):
        frequencies = wordfreq.get_frequency_dict(lang)
        best: dict[str, float] = {}
        for form in keys_of.keys() & frequencies.keys():  # a set intersection: fast
            if frequencies[form] >= 1e-6:  # Zipf 3
                for key in keys_of[form]:
                    best[key] = max(best.get(key, 0.0), frequencies[form])
        common += [(key, lang, round(math.log10(freq) + 9, 2)) for key, freq in best.items()]
        function_words += [(lang, word) for word in wordfreq.top_n_list(lang, 400)]
        wordfreq.get_frequency_dict.cache_clear()
        wordfreq.get_frequency_list.cache_clear()
    return common, function_words
