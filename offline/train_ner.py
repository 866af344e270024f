"""Train one language's NER model from a config, its data's provenance and a seed, in one command:

    .venv/bin/python offline/train_ner.py pt [--data DIR] [--max-steps N] [--seed N]

`offline/ner/<lang>.cfg` is the spaCy config (NER only, hash-embedding tok2vec of width 96, no static
vectors, CPU); `offline/ner/<lang>.json` says where the data comes from (repository, commit, files, licence).
DIR is a checkout of that repository at that commit (default: the search tool's mirror of it,
/work/.mirror/<owner>+<name>/repo, read with `git show <commit>:<file>`); only the train and dev files
are read, never a test split. Trains on one thread, evaluates on dev, writes the model to
pipeline/ner_weights/<package>/ with its card (MODEL_CARD.md: data, licence, size, dev scores, speed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")      # one thread: a shared machine
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "offline"))
import ner_spans  # noqa: E402  (spans on text the model's tokenizer cuts: HiNER, KLUE, Turkish Wiki NER)
from ner_data import file_text, sources, splits  # noqa: E402


def to_docbin(nlp, sentences, path: Path) -> int:
    from spacy.tokens import Doc, DocBin
    from spacy.training.iob_utils import iob_to_biluo, biluo_tags_to_spans

    chars = nlp.lang in ("zh", "ja")   # no spaces: the pipeline's tokens are characters
    docs = DocBin()
    for words, tags in sentences:
        if chars:
            words, tags = zip(*[(ch, tag if k == 0 or tag == "O" else "I-" + tag[2:])
                                for word, tag in zip(words, tags) for k, ch in enumerate(word)])
        doc = Doc(nlp.vocab, words=list(words), spaces=[not chars] * len(words))
        doc.ents = biluo_tags_to_spans(doc, iob_to_biluo(list(tags)))
        docs.add(doc)
    docs.to_disk(path)
    return len(sentences)


def speed(nlp, texts: list[str]) -> float:
    started = time.perf_counter()
    for _doc in nlp.pipe(texts, batch_size=8):
        pass
    return sum(map(len, texts)) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lang")
    parser.add_argument("--data", type=Path, default=None, help="a checkout of the data repository")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    import spacy
    from spacy.cli.train import train

    spec = json.loads((ROOT / "offline" / "ner" / f"{args.lang}.json").read_text("utf-8"))
    seed = spec["seed"] if args.seed is None else args.seed
    nlp = ner_spans.blank(args.lang) if "span_format" in spec else spacy.blank(args.lang)
    out = ROOT / "pipeline" / "ner_weights" / spec["package"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "span_format" in spec:   # offline/ner_spans.py; the spec's `train`/`dev` are files of its repository
            ner_spans.register_callbacks()
            examples = ner_spans.splits(spec, lambda name: _spec_file(spec, args.data, name))
            counts = {split: ner_spans.to_docbin(nlp, examples[split], tmp / f"{split}.spacy") for split in examples}
            data = {}
            dev = ner_spans.dev_texts(spec, lambda name: _spec_file(spec, args.data, name))[:400]
        else:
            data = splits(spec, seed, args.data)
            counts = {split: to_docbin(nlp, data[split], tmp / f"{split}.spacy") for split in ("train", "dev")}
            dev = [("" if nlp.lang in ("zh", "ja") else " ").join(words) for words, _tags in data["dev"]][:400]
        overrides = {"paths.train": str(tmp / "train.spacy"), "paths.dev": str(tmp / "dev.spacy"),
                     "system.seed": seed}
        if args.max_steps:
            overrides["training.max_steps"] = args.max_steps
        started = time.monotonic()
        train(ROOT / "offline" / "ner" / f"{args.lang}.cfg", tmp / "out", use_gpu=-1, overrides=overrides)
        minutes = (time.monotonic() - started) / 60
        best = tmp / "out" / "model-best"
        meta = json.loads((best / "meta.json").read_text("utf-8"))
        meta.update(name="newsfeed_ner", version="1.0.0", license=spec["license"],
                    sources=[{"name": spec["data"], "url": source["repository"], "commit": source["commit"],
                              "file": source["file"]} for source in sources(spec)])
        (best / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), "utf-8")
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(best, out)
    parts = {name[4:]: sentences for name, sentences in data.items() if name.startswith("dev:")}
    write_card(out, spec, seed, counts, minutes, dev, parts)


def _spec_file(spec: dict, data_dir: Path | None, name: str) -> str:
    """The text of the spec's `train` or `dev` file at its commit."""
    return file_text({"repository": spec["repository"], "commit": spec["commit"], "file": spec[name]}, data_dir)


def part_scores(nlp, parts: dict) -> str:
    """Each source's dev share scored apart: a mixed dev set hides which kind of text the model reads well."""
    from spacy.tokens import Doc
    from spacy.training import Example
    from spacy.training.iob_utils import biluo_tags_to_spans, iob_to_biluo

    lines = []
    for name, sentences in parts.items():
        examples = []
        for words, tags in sentences:
            gold = Doc(nlp.vocab, words=words)
            gold.ents = biluo_tags_to_spans(gold, iob_to_biluo(tags))
            examples.append(Example(nlp(Doc(nlp.vocab, words=words)), gold))
        s = nlp.evaluate(examples)
        per = ", ".join(f"{label} {100 * v['f']:.1f}" for label, v in sorted(s["ents_per_type"].items()))
        lines.append(f"| `{name}` | {len(sentences)} | {100 * s['ents_p']:.1f} | {100 * s['ents_r']:.1f} | "
                     f"{100 * s['ents_f']:.1f} | {per} |")
    return "\n".join(lines)


def write_card(out: Path, spec: dict, seed: int, counts: dict, minutes: float, dev: list[str],
               parts: dict) -> None:
    import spacy

    meta = json.loads((out / "meta.json").read_text("utf-8"))
    perf = meta.get("performance", {})
    nlp = spacy.load(out)
    by_source = part_scores(nlp, parts) if len(parts) > 1 else ""
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    files = (f"  - {spec['repository']} at {spec['commit']}: `{spec['train']}` to train, `{spec['dev']}` to evaluate"
             f"{spec.get('note', '')}" if "span_format" in spec else
             "\n".join(f"  - {s['repository']} at {s['commit']}: `{s['file']}` ({s['format']}), "
                       + (f"{s['use']}" if s["use"] != "train+dev" else
                          f"train, {100 * s['dev_fraction']:.0f}% held aside as dev (seeded)") for s in sources(spec)))
    unit = "samples" if any(s.get("join") for s in sources(spec)) else "sentences"   # `join`: runs of sentences
    rows = "\n".join(f"| {label} | {100 * s['p']:.1f} | {100 * s['r']:.1f} | {100 * s['f']:.1f} |"
                     for label, s in sorted(perf.get("ents_per_type", {}).items()))
    (out / "MODEL_CARD.md").write_text(f"""# {spec['package']}: {spec['lang']} NER for newsfeed

- data: {spec['data']}; {counts['train']} {unit} to train, {counts['dev']} to evaluate; no test split is read:
{files}
- licence: {spec['license']}
- trained by `offline/train_ner.py {spec['lang']}` (config `offline/ner/{spec['lang']}.cfg`, seed {seed}) in {minutes:.1f} min on one thread
- pipeline: {', '.join(nlp.pipe_names)}; hash-embedding tok2vec of width 96, no static vectors; {size:.1f} MB on disk
- speed, one thread, the dev sentences in batches of 8: {speed(nlp, dev):,.0f} characters/s

Dev-split scores (exact spans, %; the saved model is the step with the best dev score, so these are
slightly optimistic):

| label | P | R | F1 |
|---|---:|---:|---:|
{rows}
| all | {100 * perf.get('ents_p', 0):.1f} | {100 * perf.get('ents_r', 0):.1f} | {100 * perf.get('ents_f', 0):.1f} |
""" + (f"""
Each source's dev share apart:

| dev source | sentences | P | R | F1 | F1 per label |
|---|---:|---:|---:|---:|---|
{by_source}
""" if by_source else ""), "utf-8")
    print((out / "MODEL_CARD.md").read_text("utf-8"))


if __name__ == "__main__":
    main()
