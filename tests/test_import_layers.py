"""The import graph of `pipeline/` and `workers/`: no import circles, and no import from a lower layer up to a
higher one (README, "Layout"). Every import counts, also those inside functions and under TYPE_CHECKING: a
circle through a lazy import is still a circle, it only fails later."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# lowest first; a module may import its own layer and the ones below it
LAYERS = (
    ("pipeline", "pipeline.contracts", "pipeline.stages", "pipeline.feeds", "pipeline.writers"),
    ("pipeline.config", "pipeline.security_settings"),
    ("pipeline.kafka",),
    ("pipeline.runtime",),
    ("pipeline.tools",),
    # the entry points: `newsfeed worker` hands over to the Faust app in workers/
    ("pipeline.cli", "workers"),
)
# the pure layers name no Kafka client or stream processor at all
PURE = ("pipeline.contracts", "pipeline.stages", "pipeline.feeds")
TRANSPORT_LIBRARIES = ("kafka", "aiokafka", "faust", "mode")


def modules() -> dict[str, Path]:
    found = {}
    for package in ("pipeline", "workers"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path) -> set[str]:
    """Every module name an import statement of module `name` names ("from a import b" names a.b and a;
    relative imports resolved against the module's package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imported(name, path) if m in known and m != name} for name, path in known.items()}


def layer(module: str) -> int:
    best = max((prefix for group in LAYERS for prefix in group
                if module == prefix or module.startswith(prefix + ".")), key=len)
    return next(rank for rank, group in enumerate(LAYERS) if best in group)


def test_the_graph_sees_the_whole_package():
    edges = graph()
    assert len(edges) > 60
    assert "pipeline.kafka.broker" in edges["pipeline.cli.serve"]
    assert "pipeline.runtime.feed_poller" in edges["pipeline.cli.feeds"]   # a lazy import counts
    assert "pipeline.cli.common" in edges["pipeline.cli.feeds"]            # a relative one too
    assert "pipeline.runtime.metrics" in edges["pipeline.runtime.http"]


def test_no_import_circles():
    sorter = graphlib.TopologicalSorter(graph())
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise AssertionError(f"import circle: {' -> '.join(exc.args[1])}") from None


def test_no_import_climbs_a_layer():
    climbs = [f"{source} (layer {layer(source)}) -> {target} (layer {layer(target)})"
              for source, targets in graph().items() for target in targets if layer(target) > layer(source)]
    assert not climbs, "imports up a layer:\n" + "\n".join(sorted(climbs))


def test_pure_layers_import_no_transport():
    offenders = [f"{name} imports {lib}" for name, path in modules().items() if name.startswith(PURE)
                 for lib in imported(name, path) if lib.split(".")[0] in TRANSPORT_LIBRARIES]
    assert not offenders, "\n".join(offenders)
