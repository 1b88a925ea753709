"""The pre-copy model of live migration, in closed form (what the flow-driven migration of
:mod:`cloudsim.maintenance.migration` reproduces at a constant bandwidth).

A VM of memory ``M`` bytes dirtying ``D`` bytes/s migrates at ``B`` bytes/s. Iteration 0
copies all of ``M``; every later iteration copies what was dirtied during the one before,
so iteration ``i`` copies ``V_i = M r^i`` with ``r = D / B`` (never more than ``M``: a page
dirtied twice is sent once). After each iteration the source stops the VM when what is
left fits the downtime target, ``V_{i+1} / B <= target`` (QEMU's rule), or when ``max_rounds``
iterations are done (non-convergence: ``D >= B`` never shrinks the dirty set). The pause is
the stop-and-copy of what is left plus one round trip (the last acknowledgement and the
switch to the destination) plus ``switchover`` (device state, network announce)::

    n        = min(max_rounds, smallest k >= 1 with M r^k / B <= target)      (r < 1)
    pre-copy = sum_{i<n} V_i / B = (M / B) (1 - r^n) / (1 - r)
    pause    = V_n / B + rtt + switchover
    bytes    = sum_{i<=n} V_i = M (1 - r^{n+1}) / (1 - r)
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PreCopy:
    """The outcome of one live migration at a constant bandwidth."""

    rounds: int  # pre-copy iterations (the first full copy included)
    precopy_s: float  # the VM runs while these go
    pause_s: float  # stop-and-copy, round trip and switchover: the VM's downtime
    bytes: float  # every iteration and the stop-and-copy
    converged: bool  # stopped by the downtime target (False: by max_rounds)

    @property
    def duration_s(self) -> float:
        return self.precopy_s + self.pause_s


def dirty_after(memory: float, dirty_rate: float, seconds: float) -> float:
    """Bytes dirtied during an iteration of ``seconds`` (at most the whole memory)."""
    return min(memory, dirty_rate * seconds)


def stop_now(left: float, bandwidth: float, target: float, rounds: int, max_rounds: int) -> bool:
    """Whether to stop the VM after ``rounds`` iterations with ``left`` bytes dirty."""
    return left <= bandwidth * target or rounds >= max_rounds


def precopy(
    memory: float,
    dirty_rate: float,
    bandwidth: float,
    *,
    target: float,
    max_rounds: int,
    rtt: float = 0.0,
    switchover: float = 0.0,
) -> PreCopy:
    """Rounds, times and bytes of a live migration at a constant ``bandwidth`` (bytes/s),
    iterating as :func:`stop_now` says (see the module docstring)."""
    if bandwidth <= 0 or not math.isfinite(bandwidth):
        raise ValueError(f"bandwidth must be positive and finite, got {bandwidth}")
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be at least 1, got {max_rounds}")
    left = memory
    precopy_s = 0.0
    moved = 0.0
    rounds = 0
    while True:
        seconds = left / bandwidth
        precopy_s += seconds
        moved += left
        rounds += 1
        left = dirty_after(memory, dirty_rate, seconds)
        if stop_now(left, bandwidth, target, rounds, max_rounds):
            break
    converged = left <= bandwidth * target
    return PreCopy(
        rounds=rounds,
        precopy_s=precopy_s,
        pause_s=left / bandwidth + rtt + switchover,
        bytes=moved + left,
        converged=converged,
    )


def closed_form(
    memory: float,
    dirty_rate: float,
    bandwidth: float,
    *,
    target: float,
    max_rounds: int,
    rtt: float = 0.0,
    switchover: float = 0.0,
) -> PreCopy:
    """The same outcome from the geometric series (the oracle :func:`precopy` is tested
    against; ``r = D / B``, the dirty set capped at ``M`` when ``r >= 1``)."""
    r = dirty_rate / bandwidth
    if memory <= 0:
        return PreCopy(1, 0.0, rtt + switchover, 0.0, True)
    if r >= 1:  # the dirty set never shrinks: M every iteration, stopped by max_rounds
        n = max_rounds
        converged = memory <= bandwidth * target
        if converged:
            n = 1
        return PreCopy(
            n, n * memory / bandwidth, memory / bandwidth + rtt + switchover,
            (n + 1) * memory, converged,
        )  # fmt: skip
    if r == 0:
        n = 1
    else:
        # smallest k >= 1 with M r^k <= B target
        room = bandwidth * target  # bytes the pause may send (0: never small enough)
        need = (math.log(room) - math.log(memory)) / math.log(r) if room > 0 else math.inf
        n = max(1, math.ceil(need - 1e-12)) if math.isfinite(need) else max_rounds
    n = min(n, max_rounds)
    left = memory * r**n
    # mathematically M r^n > 0 unless D = 0: with no room for a pause it never converges
    converged = r == 0 or (target > 0 and left <= bandwidth * target * (1 + 1e-12))
    return PreCopy(
        rounds=n,
        precopy_s=memory / bandwidth * (1 - r**n) / (1 - r),
        pause_s=left / bandwidth + rtt + switchover,
        bytes=memory * (1 - r ** (n + 1)) / (1 - r),
        converged=converged,
    )
