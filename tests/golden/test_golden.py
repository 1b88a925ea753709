"""Same results: each golden run's summary and tables equal the pinned digests.

A change meant to alter results regenerates them in the same commit and says why
(``python -m tests.golden.cases --update``).
"""

from __future__ import annotations

import json

import pytest

from tests.golden.cases import CASES, Case, digest, path_of

#: The long cases run only in the full suite; the others in ``make test-fast`` too.
LONG = {"hunan-dr-faults", "drill-site-loss", "drill-centre-loss"}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c.name in LONG else c for c in CASES],
    ids=[c.name for c in CASES],
)
def test_golden(case: Case) -> None:
    if case.needs is not None and not case.needs.is_dir():
        pytest.skip(f"{case.needs} is absent (the shared trace folder is only in the workspace)")
    want = json.loads(path_of(case).read_text())
    got = digest(case.run())
    assert got["summary"] == want["summary"]
    for name in sorted(set(want["tables"]) | set(got["tables"])):
        assert got["tables"].get(name) == want["tables"].get(name), f"table {name} differs"
