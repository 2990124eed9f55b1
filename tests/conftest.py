"""Tests in layers: tests/unit needs nothing; tests/integration needs a real Asterisk;
tests/cluster needs the cluster sandbox and runs on its own (scripts/test-cluster, which sets
ASTERAMISK_CLUSTER_TESTS=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

collect_ignore = [] if os.environ.get("ASTERAMISK_CLUSTER_TESTS") else ["cluster"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.integration)
