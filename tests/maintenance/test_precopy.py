"""The pre-copy model: hand-computed cases, the closed form, non-convergence."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudsim.maintenance.precopy import closed_form, precopy

GIB = 2**30
GBPS = 1e9 / 8


def test_an_8gib_vm_over_10gbps_by_hand() -> None:
    """M = 8 GiB, B = 10 Gbit/s (1.25 GB/s), D = 50 MB/s, r = 0.04: iteration 0 takes
    8 GiB / 1.25 GB/s = 6.871947674 s and dirties 343.6 MB, which fits 300 ms (0.275 s):
    one round, pause 0.275 s + 1 ms round trip + 50 ms switchover."""
    m, b, d = 8 * GIB, 10 * GBPS, 50e6
    out = precopy(m, d, b, target=0.3, max_rounds=30, rtt=0.001, switchover=0.05)
    assert out.rounds == 1
    assert out.converged
    assert out.precopy_s == pytest.approx(8 * GIB / 1.25e9, rel=1e-12)
    assert out.pause_s == pytest.approx(8 * GIB * 0.04 / 1.25e9 + 0.051, rel=1e-12)
    assert out.bytes == pytest.approx(8 * GIB * 1.04, rel=1e-12)
    assert out.duration_s == pytest.approx(out.precopy_s + out.pause_s)


def test_a_busy_vm_takes_several_rounds() -> None:
    """r = 0.5 (D = 625 MB/s at 1.25 GB/s), M = 10 GB, target 0.3 s (375 MB): what is left
    after k rounds is 10 GB / 2^k, first <= 375 MB at k = 5 (312.5 MB)."""
    m, b, d = 10e9, 1.25e9, 625e6
    out = precopy(m, d, b, target=0.3, max_rounds=30)
    assert out.rounds == 5
    assert out.precopy_s == pytest.approx(8.0 * (1 - 0.5**5) / 0.5)
    assert out.pause_s == pytest.approx(312.5e6 / 1.25e9)
    assert out.bytes == pytest.approx(10e9 * (1 - 0.5**6) / 0.5)


def test_non_convergence_is_stopped_by_max_rounds_with_a_long_pause() -> None:
    """D >= B: the dirty set never shrinks (M every round): after max_rounds the VM is
    stopped and all of M goes in the pause."""
    m, b = 16 * GIB, 1.25e9
    out = precopy(m, 2e9, b, target=0.3, max_rounds=7, rtt=0.006)
    assert out.rounds == 7
    assert not out.converged
    assert out.precopy_s == pytest.approx(7 * m / b)
    assert out.pause_s == pytest.approx(m / b + 0.006)
    assert out.bytes == pytest.approx(8 * m)
    assert out == pytest.approx(closed_form(m, 2e9, b, target=0.3, max_rounds=7, rtt=0.006))


def test_an_idle_vm_moves_in_one_round_and_a_round_trip() -> None:
    out = precopy(4 * GIB, 0.0, 1e9, target=0.0, max_rounds=30, rtt=0.002)
    assert (out.rounds, out.converged) == (1, True)
    assert out.pause_s == pytest.approx(0.002)
    assert out.bytes == 4 * GIB


def test_bad_bandwidth_is_refused() -> None:
    with pytest.raises(ValueError, match="bandwidth"):
        precopy(1e9, 1e6, 0.0, target=0.3, max_rounds=3)
    with pytest.raises(ValueError, match="max_rounds"):
        precopy(1e9, 1e6, 1e9, target=0.3, max_rounds=0)


@settings(max_examples=300, deadline=None)
@given(
    memory=st.floats(1e6, 1e12),
    # physical values: no dirtying or a real rate, a target of at least a microsecond (the
    # section refuses 0); tinier ones underflow to 0 bytes left in one computation and not
    # in the other
    ratio=st.one_of(st.just(0.0), st.floats(1e-9, 3.0)),
    bandwidth=st.floats(1e6, 1e11),
    target=st.floats(1e-6, 5.0),
    max_rounds=st.integers(1, 60),
    rtt=st.floats(0.0, 0.1),
)
def test_iterations_agree_with_the_geometric_series(
    memory: float, ratio: float, bandwidth: float, target: float, max_rounds: int, rtt: float
) -> None:
    """Round i copies M r^i: rounds, pre-copy time, pause and bytes of the iteration equal
    the closed form, and the pause is what is left over B plus the round trip."""
    dirty = ratio * bandwidth
    got = precopy(memory, dirty, bandwidth, target=target, max_rounds=max_rounds, rtt=rtt)
    want = closed_form(memory, dirty, bandwidth, target=target, max_rounds=max_rounds, rtt=rtt)
    # the stop test sits on a boundary when M r^k / B == target: either side is right there
    if got.rounds != want.rounds:
        k = min(got.rounds, want.rounds)
        assert memory * min(ratio, 1.0) ** k == pytest.approx(bandwidth * target, rel=1e-9)
        return
    assert got.converged == want.converged
    assert got.precopy_s == pytest.approx(want.precopy_s, rel=1e-9)
    assert got.pause_s == pytest.approx(want.pause_s, rel=1e-9, abs=1e-12)
    assert got.bytes == pytest.approx(want.bytes, rel=1e-9)
    assert 1 <= got.rounds <= max_rounds
    assert got.bytes >= memory
    if got.converged:
        assert got.pause_s <= (target + rtt) * (1 + 1e-9) + 1e-12
    assert not math.isnan(got.duration_s)
