"""The training data formats `offline/train_ner.py` reads, and which file feeds which split.

A language's `offline/ner/<lang>.json` lists `sources`, each a file of a repository at a commit in a
format, feeding `train`, `dev`, or `train+dev` (a seeded share, `dev_fraction`, held aside as dev: for
data whose dev split is all we can reach, or that has none). The older form (`train` and `dev` file names
with one `repository` and `commit`, Universal NER .iob2) still reads as two sources.

Formats, each giving (words, IOB2 tags with PER/ORG/LOC/MISC) per sentence:
- `uner`: Universal NER .iob2 (id, word, tag columns; `#` comments);
- `germeval`: GermEval 2014 .tsv (id, word, outer tag, inner tag): the outer (top-level) layer only;
  OTH -> MISC; `-deriv` (names turned adjectives, "deutsche") -> MISC, as CoNLL annotates them;
  `-part` (a name inside a longer word, "EU-Kommission") -> O: the word as a whole is no name;
- `europeana`: Europeana Newspapers .bio (word and tag per line, no sentence breaks; `#` comments):
  punctuation OCR left on a word is split off; sentences are cut after . ! ? and at 60 words;
- `hipe`: HIPE-2022 .tsv (historical newspapers): the coarse literal layer, long s (ſ) read as s;
  sentences end at `EndOfSentence`.
- `smartdata`: DFKI SmartData Corpus JSON (.json.gz, one document object after another): character
  spans of fine-grained types (`SMARTDATA`), words from spaCy's German tokenizer; `exclude` names a file
  of the same repository whose documents are left out (v1's train holds half of v3's dev).
- `multiconer`, `multiconer_recased`: MultiCoNER .conll, lower case, given capitals back (offline/ner_multiconer.py);
- `kpwr`: KPWr n82 .iob (orth, base, ctag, tag; `-DOCSTART` lines): fine-grained `nam_*` types cut to
  PER (`nam_liv_person`), ORG (`nam_org_*` but nations), LOC (`nam_loc_*`, `nam_fac_*`: roads,
  buildings, as CoNLL tags them); the others -> O.
`join` makes runs of that many sentences one sample (each ended by a full stop), so that a model learns
where a sentence ends. `repeat` counts a source's training sentences that many times (a small in-domain set among larger
out-of-domain ones). `labels` in the spec keeps only those labels (the others become O).
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
from pathlib import Path

import ner_multiconer  # a sibling: offline/ is on the path, as for train_ner.py

# UD splits Portuguese contractions into words ("do" -> "de o"); running text has the contraction
CONTRACTIONS = {("de", "o"): "do", ("de", "a"): "da", ("de", "os"): "dos", ("de", "as"): "das",
                ("em", "o"): "no", ("em", "a"): "na", ("em", "os"): "nos", ("em", "as"): "nas",
                ("a", "o"): "ao", ("a", "os"): "aos", ("por", "o"): "pelo", ("por", "a"): "pela",
                ("por", "os"): "pelos", ("por", "as"): "pelas"}
LABELS = {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC", "OTH": "MISC"}
Sentence = tuple[list[str], list[str]]
PUNCT = set(".,;:!?()[]\"'„“”«»/")


def read_uner(text: str) -> list[Sentence]:
    sentences, words, tags = [], [], []
    for line in text.splitlines() + [""]:
        if not line.strip():
            if words:
                sentences.append((words, tags))
            words, tags = [], []
        elif not line.startswith("#"):
            cols = line.split("\t")
            words.append(cols[1])
            tags.append(cols[2] if cols[2] != "-" else "O")
    return sentences


def germeval_tag(raw: str) -> str:
    if raw == "O" or raw.endswith("part"):
        return "O"
    prefix, label = raw.split("-", 1)
    return f"{prefix}-MISC" if label.endswith("deriv") else f"{prefix}-{LABELS[label]}"


def read_germeval(text: str) -> list[Sentence]:
    sentences, words, tags = [], [], []
    for line in text.splitlines() + [""]:
        if not line.strip():
            if words:
                sentences.append((words, repair(tags)))
            words, tags = [], []
        elif not line.startswith("#"):
            cols = line.split("\t")
            words.append(cols[1])
            tags.append(germeval_tag(cols[2]))
    return sentences


def read_europeana(text: str) -> list[Sentence]:
    sentences, words, tags = [], [], []
    for line in text.splitlines():
        fields = line.split()
        if not fields or line.startswith("#"):
            continue
        tagged = len(fields) > 1 and (fields[-1] == "O" or fields[-1][:2] in ("B-", "I-"))
        label = LABELS.get(fields[-1][2:]) if tagged else None   # a typo'd label ("I-BER"): no name
        tag = fields[-1][:2] + label if label else "O"
        for k, word in enumerate(fields[:-1] if tagged else fields):   # a line of two words: one name
            lead, core, trail = split_punct(word)
            words += [*lead, core, *trail]
            tags += ["O"] * len(lead) + [tag if k == 0 or tag == "O" else "I-" + tag[2:]] + ["O"] * len(trail)
        if words[-1] in (".", "!", "?") or len(words) >= 60:
            sentences.append((words, repair(tags)))
            words, tags = [], []
    return sentences + ([(words, repair(tags))] if words else [])


def split_punct(word: str) -> tuple[list[str], str, list[str]]:
    """OCR text keeps punctuation on its word ("Badhuis."); spaCy's tokenizer splits it off: so do we,
    or the model learns tokens it never sees. An abbreviation's period ("C.") stays."""
    core, lead, trail = word, [], []
    while len(core) > 1 and core[0] in PUNCT:
        lead, core = lead + [core[0]], core[1:]
    while len(core) > 1 and core[-1] in PUNCT and not (core[-1] == "." and len(core) <= 3):
        trail, core = [core[-1]] + trail, core[:-1]
    return lead, core, trail


def repair(tags: list[str]) -> list[str]:
    """IOB2 after relabelling: an I- whose entity was dropped or relabelled starts one of its own."""
    out = []
    for k, tag in enumerate(tags):
        if tag.startswith("I-") and (k == 0 or out[-1] == "O" or out[-1][2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
    return out


def contract(words: list[str], tags: list[str]) -> Sentence:
    out_w, out_t, i = [], [], 0
    while i < len(words):
        pair = (words[i].lower(), words[i + 1].lower()) if i + 1 < len(words) else None
        if pair in CONTRACTIONS and not tags[i + 1].startswith("B-"):
            merged = CONTRACTIONS[pair]
            out_w.append(merged.capitalize() if words[i][0].isupper() else merged)
            out_t.append(tags[i])
            i += 2
        else:
            out_w.append(words[i])
            out_t.append(tags[i])
            i += 1
    return out_w, out_t


def read_hipe(text: str) -> list[Sentence]:
    """HIPE-2022 .tsv: TOKEN and NE-COARSE-LIT columns; `EndOfSentence` in MISC ends a sentence."""
    sentences, words, tags = [], [], []
    for line in text.splitlines()[1:]:
        cols = line.split("\t")
        if line.startswith("#") or len(cols) < 10:
            continue
        words.append(cols[0].replace("ſ", "s"))
        tags.append(cols[1] if cols[1] == "O" or cols[1][2:] in LABELS else "O")
        if "EndOfSentence" in cols[9] or len(words) >= 60:
            sentences.append((words, repair(tags)))
            words, tags = [], []
    return sentences + ([(words, repair(tags))] if words else [])


# Traffic-report routes ("A100", "S7") are no names in news; streets and stops are places, as CoNLL tags them
SMARTDATA = {"person": "PER", "organization": "ORG", "organization-company": "ORG", "location": "LOC",
             "location-city": "LOC", "location-street": "LOC", "location-stop": "LOC"}


def smartdata_docs(text: str) -> list[dict]:
    decoder, docs, at = json.JSONDecoder(), [], 0
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)
    return docs


def read_smartdata(text: str, exclude: str = "") -> list[Sentence]:
    import spacy

    tokenizer, left_out = spacy.blank("de").tokenizer, {doc["id"] for doc in smartdata_docs(exclude)}
    sentences = []
    for doc in smartdata_docs(text):
        if doc["id"] in left_out:
            continue
        tokens = tokenizer(doc["text"]["string"])
        tags = ["O"] * len(tokens)
        for mention in (doc["conceptMentions"] or {"array": []})["array"]:
            label = SMARTDATA.get(mention["type"].lower().replace("_", "-"))
            span = label and tokens.char_span(mention["span"]["start"], mention["span"]["end"], "expand")
            if span and all(tag == "O" for tag in tags[span.start:span.end]):
                tags[span.start:span.end] = [f"B-{label}"] + [f"I-{label}"] * (len(span) - 1)
        words, sentence_tags = [], []
        for token, tag in zip(tokens, tags):
            if not token.is_space:
                words.append(token.text)
                sentence_tags.append(tag)
            ends = token.is_space and "\n" in token.text or token.text in (".", "!", "?") and tag == "O"
            if words and (ends or len(words) >= 60 or "\n" in token.whitespace_):
                sentences.append((words, repair(sentence_tags)))
                words, sentence_tags = [], []
        if words:
            sentences.append((words, repair(sentence_tags)))
    return sentences


def kpwr_label(raw: str) -> str | None:
    if raw.startswith("nam_liv_person"):
        return "PER"
    if raw.startswith("nam_org_") and raw != "nam_org_nation":
        return "ORG"
    return "LOC" if raw.startswith(("nam_loc_", "nam_fac_")) else None


def read_kpwr(text: str) -> list[Sentence]:
    """A document's sentences joined up to 60 words, or names run over a period ("Macronem. Obaj")."""
    sentences, words, tags = [], [], []
    for line in text.splitlines() + ["-DOCSTART"]:
        if line.startswith("-DOCSTART") or not line.strip() and len(words) >= 60:
            if words:
                sentences.append((words, repair(tags)))
            words, tags = [], []
        elif line.strip():
            cols = line.split("\t")
            label = kpwr_label(cols[-1][2:]) if cols[-1] != "O" else None
            words.append(cols[0])
            tags.append(cols[-1][:2] + label if label else "O")
    return sentences


def join_sentences(sentences: list[Sentence], n: int) -> list[Sentence]:
    """Runs of n sentences as one sample, each ended by a full stop if it has none."""
    ended = [(w + ["."], t + ["O"]) if w[-1][-1:].isalnum() else (w, t) for w, t in sentences]
    return [(sum((w for w, _ in ended[k:k + n]), []), sum((t for _, t in ended[k:k + n]), []))
            for k in range(0, len(ended), n)]


READERS = {"uner": read_uner, "germeval": read_germeval, "europeana": read_europeana, "hipe": read_hipe,
           "smartdata": read_smartdata, "kpwr": read_kpwr,
           "multiconer": lambda text: ner_multiconer.read_multiconer(text, repair),
           "multiconer_recased": lambda text: ner_multiconer.read_multiconer_recased(text, repair)}


def sources(spec: dict) -> list[dict]:
    if "sources" in spec:
        return spec["sources"]
    return [{"repository": spec["repository"], "commit": spec["commit"], "file": spec[split],
             "format": "uner", "use": split} for split in ("train", "dev")]


def file_text(source: dict, data_dir: Path | None) -> str:
    """A file at its commit: from DIR (a checkout) or the search tool's mirror of the repository."""
    if data_dir is not None:
        raw = (data_dir / source["file"]).read_bytes()
    else:
        owner, repo = source["repository"].split(":", 1)[1].split("/")
        mirror = Path(f"/work/.mirror/{owner}+{repo}/repo")
        raw = subprocess.run(["git", "-C", str(mirror), "show", f"{source['commit']}:{source['file']}"],
                             capture_output=True, check=True).stdout
    return (gzip.decompress(raw) if source["file"].endswith(".gz") else raw).decode("utf-8")


def splits(spec: dict, seed: int, data_dir: Path | None = None) -> dict[str, list[Sentence]]:
    """{'train': [...], 'dev': [...]} from every source; a `train+dev` source's held-aside share is
    drawn with the seed, so a run reproduces it. `dev:<file>` keys hold each source's dev share, scored apart."""
    out: dict[str, list[Sentence]] = {"train": [], "dev": []}
    for source in sources(spec):
        text = file_text(source, data_dir)
        if "exclude" in source:
            sentences = READERS[source["format"]](text, file_text({**source, "file": source["exclude"]}, data_dir))
        else:
            sentences = READERS[source["format"]](text)
        if source.get("join"):   # one-sentence samples teach no sentence edge: "Macron. I due leader" was one name
            sentences = join_sentences(sentences, source["join"])
        if spec.get("recontract"):
            sentences = [contract(w, t) for w, t in sentences]
        if "labels" in spec:   # a label some sources do not annotate would be learnt as no name: left out
            sentences = [(w, repair([t if t[2:] in spec["labels"] else "O" for t in tags])) for w, tags in sentences]
        if source["use"] == "train+dev":
            order = list(range(len(sentences)))
            random.Random(seed).shuffle(order)
            cut = round(len(order) * source["dev_fraction"])
            out[f"dev:{source['file']}"] = [sentences[i] for i in sorted(order[:cut])]
            out["dev"] += out[f"dev:{source['file']}"]
            out["train"] += [sentences[i] for i in sorted(order[cut:])] * source.get("repeat", 1)
        else:
            out[source["use"]] += sentences * (source.get("repeat", 1) if source["use"] == "train" else 1)
            if source["use"] == "dev":
                out[f"dev:{source['file']}"] = sentences
    return out
