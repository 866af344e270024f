"""Checks before a process starts work, so a fault a user can fix is named at start, not found mid-stream."""

from __future__ import annotations

import errno
import logging
import os
import pwd
from pathlib import Path


log = logging.getLogger("newsfeed.preflight")


class PreflightError(Exception):
    pass


def _who() -> str:
    uid = os.geteuid()
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def check_output_dir(path: Path) -> Path:
    """The output directory exists (created if need be) and this process can create files in it."""
    path = Path(path)
    uid, gid = os.geteuid(), os.getegid()
    fix = (f"fix: `sudo chown -R {uid}:{gid} {path.resolve()}` (or `chmod u+w`), "
           f"or set NEWSFEED_OUTPUT_DIR to a directory {_who()} can write")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PreflightError(f"output directory {path.resolve()} cannot be created by {_who()}: "
                             f"{exc.strerror or exc}; {fix}") from None
    probe = path / f".newsfeed-write-test-{os.getpid()}"
    try:
        with open(probe, "wb") as f:
            f.write(b"ok\n")
        probe.unlink()
    except OSError as exc:
        try:
            probe.unlink(missing_ok=True)  # a full disk may have let it be created empty
        except OSError:
            pass  # read-only: it was never created
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # a full disk is a passing fault, not a setting to fix: start, and let the output retries wait for room
            log.warning("output directory %s is full (%s): starting anyway; writes are retried until there "
                        "is room", path.resolve(), exc.strerror)
            return path
        raise PreflightError(f"output directory {path.resolve()} is not writable by {_who()}: "
                             f"{exc.strerror or exc}; {fix}") from None
    for name in ("enriched.jsonl", "duplicates.jsonl", "deadletter.jsonl"):
        existing = path / name
        if existing.exists() and not os.access(existing, os.W_OK):
            raise PreflightError(f"{existing.resolve()} exists but is not writable by {_who()}; {fix}")
    return path
