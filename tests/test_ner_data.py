"""The training-data readers of offline/train_ner.py (offline/ner_data.py), on snippets written here in
each format: labels mapped to PER/ORG/LOC/MISC, IOB2 kept valid, OCR punctuation split as spaCy splits it."""

from __future__ import annotations

import json
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "offline"))
import ner_data  # noqa: E402

GERMEVAL = """#\thttp://de.wikipedia.org/wiki/Beispiel\t[2010-01-01]
1\tDer\tO\tO
2\tdeutsche\tB-LOCderiv\tO
3\tEU-Kommissar\tB-ORGpart\tO
4\tGünther\tB-PER\tO
5\tOettinger\tI-PER\tO
6\tbesuchte\tO\tO
7\tFC\tB-ORG\tO
8\tKickers\tI-ORG\tO
9\tDarmstadt\tI-ORG\tB-LOC
10\t"\tO\tO
11\tFaust\tB-OTH\tO
12\t"\tO\tO

1\tBerlin\tB-LOC\tO
"""
EUROPEANA = "# file: x\nDer O\nKaiser O\nWilhelm, B-PER\nreiste O\nnach O\n(Wien). B-LOC\nDie Böhminger O\nZeitung B-ORG\n"
HIPE = ("TOKEN\tNE-COARSE-LIT\tNE-COARSE-METO\tNE-FINE-LIT\tNE-FINE-METO\tNE-FINE-COMP\tNE-NESTED\tNEL-LIT\tNEL-METO\tMISC\n"
        "# hipe2022:document_id = x\n"
        "Berlin\tB-LOC\t_\tO\t_\t_\tO\t_\t_\tNoSpaceAfter\n"
        ",\tO\t_\tO\t_\t_\tO\t_\t_\t_\n"
        "Dienſtag\tO\t_\tO\t_\t_\tO\t_\t_\tEndOfSentence\n"
        "Bismarck\tB-PER\t_\tO\t_\t_\tO\t_\t_\t_\n")


def test_germeval_outer_layer_mapped_to_common_labels():
    (words, tags), (_, second) = ner_data.read_germeval(GERMEVAL)
    assert dict(zip(words, tags)) == {
        "Der": "O", "deutsche": "B-MISC", "EU-Kommissar": "O", "Günther": "B-PER", "Oettinger": "I-PER",
        "besuchte": "O", "FC": "B-ORG", "Kickers": "I-ORG", "Darmstadt": "I-ORG", '"': "O", "Faust": "B-MISC"}
    assert second == ["B-LOC"]


def test_europeana_punctuation_split_and_sentences_cut():
    first, second = ner_data.read_europeana(EUROPEANA)
    assert first == (["Der", "Kaiser", "Wilhelm", ",", "reiste", "nach", "(", "Wien", ")", "."],
                     ["O", "O", "B-PER", "O", "O", "O", "O", "B-LOC", "O", "O"])
    assert second == (["Die", "Böhminger", "Zeitung"], ["O", "O", "B-ORG"])


def test_hipe_sentences_and_long_s():
    assert ner_data.read_hipe(HIPE) == [(["Berlin", ",", "Dienstag"], ["B-LOC", "O", "O"]), (["Bismarck"], ["B-PER"])]


def test_labels_kept_and_seeded_dev_share(monkeypatch):
    monkeypatch.setattr(ner_data, "file_text", lambda source, data_dir: "\n".join([GERMEVAL] * 10))
    spec = {"labels": ["PER", "ORG", "LOC"], "sources": [
        {"repository": "github:a/b", "commit": "c", "file": "f", "format": "germeval", "use": "train+dev",
         "dev_fraction": 0.2, "repeat": 2}]}
    out = ner_data.splits(spec, seed=0)
    assert (len(out["train"]), len(out["dev"])) == (32, 4)
    assert out == ner_data.splits(spec, seed=0)   # the same seed, the same held-aside sentences
    assert not {t[2:] for _w, tags in out["train"] + out["dev"] for t in tags} - {"", "PER", "ORG", "LOC"}


def smartdata_doc(doc_id: str, text: str, mentions: list[tuple[int, int, str]]) -> str:
    return json.dumps({"id": doc_id, "text": {"string": text}, "conceptMentions": {"array": [
        {"span": {"start": start, "end": end}, "type": kind} for start, end, kind in mentions]}}, indent=2)


def test_smartdata_types_mapped_lines_cut_and_excluded_documents_left_out():
    text = "Michael Peters von Euronews in Cannes.\nS7 gesperrt: Bahnhof Westkreuz, 12.04.2016"
    doc = smartdata_doc("a", text, [(0, 14, "person"), (19, 27, "organization-company"), (31, 37, "LOCATION_CITY"),
                                    (39, 41, "location-route"), (52, 69, "location-stop"), (71, 81, "date")])
    both = doc + "\n" + smartdata_doc("b", "Berlin", [(0, 6, "location")])
    assert ner_data.read_smartdata(both, exclude=smartdata_doc("b", "x", [])) == [
        (["Michael", "Peters", "von", "Euronews", "in", "Cannes", "."], ["B-PER", "I-PER", "O", "B-ORG", "O", "B-LOC", "O"]),
        (["S7", "gesperrt", ":", "Bahnhof", "Westkreuz", ",", "12.04.2016"], ["O", "O", "O", "B-LOC", "I-LOC", "O", "O"])]


MULTICONER = ("# id a\tdomain=es\nen _ _ O\njulio _ _ O\npedro _ _ B-Politician\nsánchez _ _ I-Politician\nvisitó _ _ O\n"
              "el _ _ O\nbanco _ _ B-CORP\nde _ _ I-CORP\nespaña _ _ I-CORP\ny _ _ O\nla _ _ O\nsega _ _ B-CW\n"
              "game _ _ I-CW\ngear _ _ I-CW\nde _ _ O\nla _ _ O\nbbc _ _ B-ORG\n\n")


def test_multiconer_fine_types_mapped_and_text_truecased():
    [(words, tags)] = ner_data.READERS["multiconer"](MULTICONER)
    assert " ".join(words) == "En julio Pedro Sánchez visitó el Banco de España y la Sega Game Gear de la BBC"
    assert tags == ["O", "O", "B-PER", "I-PER", "O", "O", "B-ORG", "I-ORG", "I-ORG", "O", "O",
                    "O", "O", "O", "O", "O", "B-ORG"]   # a creative work: capitals, no name kept


NEWSFANE = ("\ufeff\u200eو\tO\n\u200eقال\tO\n\u200eرئيس\tO\n\u200eالاتحاد\tO\n\u200eبرند\tB-Other_PER\n"
            "\u200eجوتشولك\tI-Other_PER\n\u200eان\tO\n\u200eه\tO\n\u200eزار\tO\n\u200eب\tO\n\u200eالقاهرة\tB-Population-Center\n"
            "\u200eو\tO\n\u200eل\tO\n\u200eاسرائيل\tB-Nation\n\u200eو\tO\n\u200eصينيون\tB-Group\n\t\n")


def test_newsfane_clitics_written_on_their_words_and_names_on_token_edges():
    """NewsFANE Gold writes clitics as words ("و قال", "ان ه"): joined back as news writes them, except where the
    tokenizer could not cut the name out again ("ل اسرائيل"); nationalities (Group) dropped."""
    import ner_arabic
    import ner_spans

    spec = json.loads((ROOT / "offline" / "ner" / "ar.json").read_text("utf-8"))
    [(text, spans)] = ner_spans.read_examples(spec, NEWSFANE)
    assert text == "وقال رئيس الاتحاد برند جوتشولك انه زار بالقاهرة ول اسرائيل وصينيون"
    assert [(text[s:e], label) for s, e, label in spans] == [
        ("برند جوتشولك", "PER"), ("القاهرة", "LOC"), ("اسرائيل", "LOC")]
    nlp = ner_spans.blank("ar")
    doc = nlp.make_doc(text)
    assert all(doc.char_span(s, e) is not None for s, e, _label in spans)   # every name on token edges
    assert [t.text for t in nlp.make_doc("وبالقاهرة وقال بريطانيا")] == ["و", "ب", "القاهرة", "و", "قال", "بريطانيا"]
    assert ner_arabic.SUFFIXES and "و" in ner_arabic.PROCLITICS
