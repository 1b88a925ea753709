"""What every benchmark shares: the flavour mix, the machine it ran on, and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

#: The benchmarks' cloud-host flavours: (vCPUs, GiB, disk GB, weight in the request mix).
FLAVOURS: tuple[tuple[int, int, int, int], ...] = (
    (1, 2, 50, 6),
    (2, 4, 100, 14),
    (2, 8, 100, 8),
    (4, 8, 100, 18),
    (4, 16, 200, 14),
    (8, 16, 200, 14),
    (8, 32, 300, 10),
    (16, 32, 300, 8),
    (16, 64, 500, 8),
)


def machine() -> dict[str, Any]:
    """The facts that make figures from two machines comparable, or not."""
    return {
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` atomically (temporary file, then rename), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    print(f"wrote {path}")
