"""Is Russian NER good enough for Ukrainian? Natasha/Slovnet (the Russian model) on the Ukrainian and the Russian
texts of the parallel-news fixture, against mentions marked by hand (PER/ORG/LOC, exact text and label):
the bare model, then its mentions after the places stage (arbitration, gazetteer), as a worker writes them.

    .venv/bin/python bench/russian_ner_on_ukrainian.py

No Ukrainian NER set reachable here may be shipped in weights (lang-uk's ner-uk is CC BY-NC-SA), so the
question (issue 32) is whether the Russian model can stand in. Data: bench/fixtures/parallel_news.jsonl
(8 articles written for newsfeed, not the WMT/NTREX family); the gold mentions are below. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.stages.entities.adapters import load_natasha  # noqa: E402
from pipeline.stages.places.resolution import locate  # noqa: E402

LABELS = ("PER", "ORG", "LOC")
# article -> "mention LABEL|..." as written in that article
GOLD = {
    "uk": {
        "p1": "України LOC|Володимир Зеленський PER|Брюсселі LOC|НАТО ORG|Марком Рютте PER|Києва LOC|"
              "Харкова LOC|Європейський союз ORG",
        "p2": "Європейський центральний банк ORG|Франкфурті LOC|Крістін Лагард PER|Німеччині LOC|"
              "Франції LOC|Італії LOC|Міжнародний валютний фонд ORG",
        "p3": "Apple ORG|Тім Кук PER|Шеньчжені LOC|Samsung ORG|Сеула LOC|Goldman Sachs ORG|Китаї LOC|"
              "Індії LOC",
        "p4": "Стамбул LOC|Реджеп Тайїп Ердоган PER|Анкари LOC|Турецький Червоний Півмісяць ORG",
        "p5": "ООН ORG|Антоніу Гутерреш PER|Ріо-де-Жанейро LOC|Бразилії LOC|"
              "Луїс Інасіу Лула да Сілва PER|Світовий банк ORG|Амазонії LOC",
        "p6": "Нарендра Моді PER|Мумбаї LOC|Tata Group ORG|Нью-Делі LOC|Дубая LOC|Лондона LOC",
        "p7": "Єгипту LOC|Абдель Фаттах ас-Сісі PER|Каїрі LOC|Газа LOC|ХАМАС ORG|Катару LOC|Дохи LOC|"
              "Ізраїль LOC|Моссаду ORG",
        "p8": "Південної Кореї LOC|Лі Дже Мьон PER|Hyundai ORG|Ульсані LOC|Сеула LOC|"
              "Всесвітньої організації охорони здоров'я ORG|Тедросом Адханомом Гебреєсусом PER",
    },
    "ru": {
        "p1": "Украины LOC|Владимир Зеленский PER|Брюсселе LOC|НАТО ORG|Марком Рютте PER|Киева LOC|"
              "Харькова LOC|Европейский союз ORG",
        "p2": "Европейский центральный банк ORG|Франкфурте LOC|Кристин Лагард PER|Германии LOC|"
              "Франции LOC|Италии LOC|Международный валютный фонд ORG",
        "p3": "Apple ORG|Тим Кук PER|Шэньчжэне LOC|Samsung ORG|Сеулом LOC|Goldman Sachs ORG|"
              "Китае LOC|Индии LOC",
        "p4": "Стамбул LOC|Реджеп Тайип Эрдоган PER|Анкары LOC|Турецкий Красный Полумесяц ORG",
        "p5": "ООН ORG|Антониу Гутерриш PER|Рио-де-Жанейро LOC|Бразилии LOC|"
              "Луис Инасиу Лула да Силва PER|Всемирный банк ORG|Амазонии LOC",
        "p6": "Нарендра Моди PER|Мумбаи LOC|Tata Group ORG|Нью-Дели LOC|Дубай LOC|Лондон LOC",
        "p7": "Египта LOC|Абдель Фаттах ас-Сиси PER|Каире LOC|Газа LOC|ХАМАС ORG|Катара LOC|Дохи LOC|"
              "Израиль LOC|Моссада ORG",
        "p8": "Южной Кореи LOC|Ли Чжэ Мён PER|Hyundai ORG|Ульсане LOC|Сеул LOC|"
              "Всемирной организации здравоохранения ORG|Тедросом Адханомом Гебрейесусом PER",
    },
}


def bare(nlp, lang: str, text: str) -> set[tuple[str, str]]:
    return {(e.text, e.label_) for e in nlp(text).ents}


def arbitrated(nlp, lang: str, text: str) -> set[tuple[str, str]]:
    """What a worker writes: the model's mentions after the places stage (pipeline/stages/places/arbitration.py
    relabels and cuts; the gazetteer adds the places the model missed)."""
    given = [{"text": e.text, "label": e.label_, "label_raw": e.label_, "start": e.start_char, "end": e.end_char}
             for e in nlp(text).ents]
    entities, _added = locate(lang, text, given, model_ran=True)
    return {(e["text"], e["label"]) for e in entities if e["label"] in LABELS}


def score(nlp, lang: str, rows: list[dict], mentions=bare, name: str | None = None) -> str:
    right = found = marked = 0
    per_label = {label: [0, 0, 0] for label in LABELS}   # right, found, marked
    wrong = []
    for row in (r for r in rows if r["lang"] == lang):
        gold = {tuple(m.rsplit(" ", 1)) for m in GOLD[lang][row["article"]].split("|")}
        predicted = mentions(nlp, lang, row["text"])
        right, found, marked = right + len(gold & predicted), found + len(predicted), marked + len(gold)
        for label, counts in per_label.items():
            counts[0] += sum(m[1] == label for m in gold & predicted)
            counts[1] += sum(m[1] == label for m in predicted)
            counts[2] += sum(m[1] == label for m in gold)
        wrong += sorted(predicted - gold)
    p, r = right / found, right / marked
    labels = ", ".join(f"{label} P {100 * c[0] / max(c[1], 1):.0f} R {100 * c[0] / c[2]:.0f}"
                       for label, c in per_label.items())
    return (f"| {name or lang} | {right} / {found} / {marked} | {100 * p:.1f} | {100 * r:.1f} | {200 * p * r / (p + r):.1f} "
            f"| {labels} | {'; '.join(f'{t} {k}' for t, k in wrong) or '-'} |")


def main() -> None:
    fixture = ROOT / "bench" / "fixtures" / "parallel_news.jsonl"
    rows = [json.loads(line) for line in fixture.read_text("utf-8").splitlines()]
    nlp = load_natasha()
    print("| text | right / found / marked | P | R | F1 | per label | wrong |")
    print("|---|---|---:|---:|---:|---|---|")
    for lang in ("ru", "uk"):
        print(score(nlp, lang, rows))
    for lang in ("ru", "uk"):
        print(score(nlp, lang, rows, arbitrated, f"{lang}, after the places stage"))


if __name__ == "__main__":
    main()
