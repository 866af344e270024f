"""Tests that need programs outside Python (Java, Maven, kcat, openssl): skipped where they are missing,
except in CI (CI=true), where a missing program is a failure (`.ci/run` installs them)."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    why = f"{', '.join(missing)} not installed (Debian: openjdk-17-jdk-headless, maven, kcat, openssl)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {why}")
    pytest.skip(why)
