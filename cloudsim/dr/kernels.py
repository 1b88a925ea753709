"""The replication queues' advance, compiled (optional: ``pip install cloudsim[fast]``).

:meth:`~cloudsim.dr.replication.Replication.advance` moves ~190 systems' queues over each
piece of time with constant inputs (pieces end at hour edges); numpy spends most of a
piece on the fixed cost of a dozen array calls. :func:`advance_loop` is the same arithmetic
system by system in one compiled pass over every piece. :func:`advance_numpy` is the
reference (and the path without numba): the same IEEE operations in the same order (no
fast-math, so no fused multiply-add), and a property test checks that both leave every
array identical, bit for bit.

Without numba the module still imports (:mod:`cloudsim.compiled`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from cloudsim.compiled import Functions, KernelSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
DAY = 86400.0
HOUR = 3600.0


#: Rows of the inputs block: write_on, async_in, flight (not read by the advance: the
#: tick's lags depend on these three), async_cap, mirror_in (side 0, side 1), mirror_cap,
#: away_in.
INPUT_ROWS = 8
#: Rows of the state block: backlog, mirror (side 0, side 1), away, written, shipped,
#: resynced, async_total_in, mirror_total_in.
STATE_ROWS = 9


def advance_numpy(
    clock: float, until: float, rate_by_hour: FloatArray, inputs: FloatArray, state: FloatArray
) -> None:
    """Advance the queues from ``clock`` to ``until`` in pieces ending at hour edges (the
    inputs constant meanwhile), in place (``inputs`` and ``state``: the blocks of rows
    :data:`INPUT_ROWS` and :data:`STATE_ROWS` name, one column per system)."""
    write_on, async_in, _, async_cap, _, _, mirror_cap, away_in = inputs
    mirror_in = inputs[4:6].T
    backlog, _, _, away, written_total, shipped, resynced, async_total_in, mirror_total_in = state
    mirror = state[1:3].T
    t = clock
    while t < until:
        edge = (math.floor(t / HOUR) + 1) * HOUR
        end = min(until, edge)
        dt = end - t
        start = t
        t = end
        if dt <= 0:
            continue
        written = rate_by_hour[int(start % DAY // HOUR) % 24] * write_on
        written *= dt
        written_total += written
        # async: fluid queue (the backlog is filled, then drained, in place)
        inflow = written * async_in
        async_total_in += inflow
        backlog += inflow
        out = np.minimum(backlog, async_cap * dt)
        shipped += out
        backlog -= out
        # mirror: per side, drains only through the pair's resync capacity
        if np.count_nonzero(mirror_in) or np.count_nonzero(mirror):
            m_in = written[:, None] * mirror_in
            mirror_total_in += m_in.sum(axis=1)
            level = mirror + m_in
            drain = np.minimum(level, (mirror_cap * dt)[:, None])
            resynced += drain.sum(axis=1)
            np.subtract(level, drain, out=mirror)
        # away from home: kept until failback
        away += written * away_in


def advance_loop(
    clock: float, until: float, rate_by_hour: FloatArray, inputs: FloatArray, state: FloatArray
) -> None:
    """:func:`advance_numpy` system by system (compiled): each element's operations are
    the numpy path's, in its order (``np.minimum`` keeps its first operand on a tie or a
    NaN; a sum over a pair's two sides is ``a + b``)."""
    n = inputs.shape[1]
    t = clock
    while t < until:
        edge = (math.floor(t / HOUR) + 1) * HOUR
        end = min(until, edge)
        dt = end - t
        start = t
        t = end
        if dt <= 0:
            continue
        rate = rate_by_hour[int(start % DAY // HOUR) % 24]
        mirrored = False
        for i in range(n):
            if inputs[4, i] != 0 or inputs[5, i] != 0 or state[1, i] != 0 or state[2, i] != 0:
                mirrored = True
                break
        for i in range(n):
            w = rate[i] * inputs[0, i]
            w = w * dt
            state[4, i] += w
            inflow = w * inputs[1, i]
            state[7, i] += inflow
            level = state[0, i] + inflow
            cap = inputs[3, i] * dt
            out = level if (level <= cap or level != level) else cap
            state[5, i] += out
            state[0, i] = level - out
            if mirrored:
                m0 = w * inputs[4, i]
                m1 = w * inputs[5, i]
                state[8, i] += m0 + m1
                l0 = state[1, i] + m0
                l1 = state[2, i] + m1
                mc = inputs[6, i] * dt
                d0 = l0 if (l0 <= mc or l0 != l0) else mc
                d1 = l1 if (l1 <= mc or l1 != l1) else mc
                state[6, i] += d0 + d1
                state[1, i] = l0 - d0
                state[2, i] = l1 - d1
            state[3, i] += w * inputs[7, i]


def sample_kept(
    backlog: FloatArray,
    bits: IntArray,
    kept: IntArray,
    lag: FloatArray,
    most: FloatArray,
    sampled: BoolArray,
    lag_sum: FloatArray,
    lag_samples: IntArray,
    lag_max: FloatArray,
) -> bool:
    """The replication tick's sample when its kept lags still hold (compiled): every
    backlog empty and the inputs the lags depend on (``bits``: their bit patterns, rows
    write_on, async_in, flight) those they were worked out for (``kept``). Then adds the
    kept sample to the sums, counts and maxima (``lag`` and ``most`` are 0 where not
    ``sampled``: the numpy path's ``+=`` and ``np.maximum``, element by element) and
    returns True; otherwise changes nothing and returns False."""
    n = backlog.shape[0]
    for i in range(n):
        if backlog[i] != 0:
            return False
    for r in range(kept.shape[0]):
        for i in range(n):
            if bits[r, i] != kept[r, i]:
                return False
    for i in range(n):
        lag_sum[i] += lag[i]
        lag_samples[i] += sampled[i]
        m = most[i]
        x = lag_max[i]
        lag_max[i] = x if (x >= m or x != x) else m
    return True


KERNELS = KernelSet(
    "replication kernels", lambda: {"advance": advance_loop, "sample_kept": sample_kept}
)


def kernels() -> Functions:
    """The compiled kernels by name (compiled once per process, cached on disk)."""
    return KERNELS.compiled()
