"""The patches of faust-streaming and aiokafka internals still face the code they were written against."""

import json

import pytest

from pipeline.runtime.patched_sources import PATCHED, RECORD, source_hash


@pytest.mark.parametrize("patch, target", [(p, t) for p, targets in PATCHED.items() for t in targets])
def test_patched_function_unchanged(patch, target):
    record = json.loads(RECORD.read_text())
    against = ", ".join(f"{lib} {v}" for lib, v in record["written_against"].items())
    assert source_hash(target) == record["hashes"][patch][target], (
        f"{target} is not the source {patch} was written against ({against}): re-read the patch against the "
        f"installed version, then record it with `python -m pipeline.runtime.patched_sources --write`")
