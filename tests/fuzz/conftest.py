"""The large fuzz runs (marker ``fuzz``) run only with ``CLOUDSIM_FUZZ_EXAMPLES`` set, as
``make fuzz`` does; the default suite keeps its small fixed budget."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CLOUDSIM_FUZZ_EXAMPLES"):
        return
    fuzz = [item for item in items if item.get_closest_marker("fuzz") is not None]
    if fuzz:
        config.hook.pytest_deselected(items=fuzz)
        items[:] = [item for item in items if item.get_closest_marker("fuzz") is None]
