"""A flow kind's transfers moved on and checked for completion, compiled (optional:
``pip install cloudsim[fast]``).

Every change of the flow network moves each busy kind's transfers by one step (what the
kind's rate carries meanwhile, at most what each has left) and then looks for the finished
ones and the least left of the others. A backup slot's kind holds ~160 transfers, and the
numpy path spends most of a call on the fixed cost of a handful of array calls:
:func:`advance_loop` and :func:`done_loop` are the same operations element by element in
one compiled pass each. :func:`advance_numpy` and :func:`done_numpy` are the reference (and
the path without numba): the same IEEE operations (no fast-math, so no fused multiply-add;
the bytes moved summed in numpy's pairwise order), and a property test checks that both
give identical results, bit for bit.

Without numba the module still imports (:mod:`cloudsim.compiled`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.compiled import Functions, KernelSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Relative tolerance: a flow this close to done is done (the flow network's).
EPS = 1e-9
#: numpy's pairwise summation sums blocks of at most this many elements with 8 partial sums.
_BLOCK = 128


def advance_numpy(left: FloatArray, m: int, step: float) -> float:
    """Move the first ``m`` transfers of ``left`` (bytes each has left) on by ``step``
    bytes (at most what each has left), in place; the bytes moved in all."""
    view = left[:m]
    part = np.minimum(view, step)
    view -= part
    return float(part.sum())


def done_numpy(
    left: FloatArray,
    sizes: FloatArray,
    m: int,
    top: float,
    rate: float,
    time: float,
    out: IntArray,
) -> tuple[int, float]:
    """Of the first ``m`` transfers (what each has left, its size; none larger than
    ``top``) running at ``rate`` at ``time``: how many are finished — nothing left within
    rounding, or less than a clock tick at the rate — their positions written in
    ascending order to the start of ``out``, and the least left of the others (inf: none).
    The least left is checked first: while it is over every transfer's tolerance and more
    than a clock tick at the rate, none is finished (``m`` at least 1)."""
    view = left[:m]
    least = float(view.min())
    if (
        least > EPS * top + 1e-6
        and not math.isinf(rate)
        and not (rate > 0 and time + least / rate <= time)
    ):
        return 0, least
    if math.isinf(rate):
        out[:m] = np.arange(m)
        return m, math.inf
    finished = view <= EPS * sizes[:m] + 1e-6
    if rate > 0:
        finished |= time + view / rate <= time
    rest = view[~finished]
    at = np.flatnonzero(finished)
    out[: at.size] = at
    return int(at.size), float(rest.min()) if rest.size else math.inf


def _part(x: float, step: float) -> float:
    """``np.minimum(x, step)``: the first operand on a tie, a NaN either way."""
    return x if (x <= step or x != x) else step


def _block(left: FloatArray, lo: int, n: int, step: float) -> float:
    """numpy's pairwise sum of ``min(left[i], step)`` over ``lo <= i < lo + n`` for
    ``n`` at most :data:`_BLOCK` (a plain loop under 8, else 8 partial sums)."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += _part(left[i], step)
        return res
    r0 = _part(left[lo], step)
    r1 = _part(left[lo + 1], step)
    r2 = _part(left[lo + 2], step)
    r3 = _part(left[lo + 3], step)
    r4 = _part(left[lo + 4], step)
    r5 = _part(left[lo + 5], step)
    r6 = _part(left[lo + 6], step)
    r7 = _part(left[lo + 7], step)
    i = 8
    whole = n - n % 8
    while i < whole:
        at = lo + i
        r0 += _part(left[at], step)
        r1 += _part(left[at + 1], step)
        r2 += _part(left[at + 2], step)
        r3 += _part(left[at + 3], step)
        r4 += _part(left[at + 4], step)
        r5 += _part(left[at + 5], step)
        r6 += _part(left[at + 6], step)
        r7 += _part(left[at + 7], step)
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += _part(left[lo + i], step)
        i += 1
    return res


def _pairwise(left: FloatArray, n: int, step: float) -> float:
    """numpy's pairwise sum (``np.add.reduce``'s additions) of ``min(left[i], step)``
    over the first ``n``: past :data:`_BLOCK` elements, the sum of the two halves (the
    first a multiple of 8), each summed so. The halving is walked with a stack, not by
    recursion (numba's disk cache does not keep recursive functions)."""
    if n <= _BLOCK:
        return _block(left, 0, n, step)
    depth = 64  # halvings of any int64 count (each at least halves it), and one more
    los = np.empty(depth, dtype=np.int64)
    ns = np.empty(depth, dtype=np.int64)
    stage = np.empty(depth, dtype=np.int64)
    sums = np.empty(depth, dtype=np.float64)
    top, kept = 0, 0
    los[0], ns[0], stage[0] = 0, n, 0
    while top >= 0:
        lo, k = los[top], ns[top]
        if k <= _BLOCK:
            sums[kept] = _block(left, lo, k, step)
            kept += 1
            top -= 1
            continue
        half = k // 2
        half -= half % 8
        if stage[top] == 0:  # the first half next
            stage[top] = 1
            top += 1
            los[top], ns[top], stage[top] = lo, half, 0
        elif stage[top] == 1:  # then the second
            stage[top] = 2
            top += 1
            los[top], ns[top], stage[top] = lo + half, k - half, 0
        else:  # both summed: their sum stands for this part
            kept -= 1
            sums[kept - 1] = sums[kept - 1] + sums[kept]
            top -= 1
    return float(sums[0])


def advance_loop(left: FloatArray, m: int, step: float) -> float:
    """:func:`advance_numpy` element by element (compiled): the bytes moved summed first
    (numpy's pairwise order), then each transfer moved on."""
    if m == 0:
        return 0.0
    moved = _pairwise(left, m, step)
    for i in range(m):
        x = left[i]
        left[i] = x - _part(x, step)
    return moved


def done_loop(
    left: FloatArray,
    sizes: FloatArray,
    m: int,
    top: float,
    rate: float,
    time: float,
    out: IntArray,
) -> tuple[int, float]:
    """:func:`done_numpy` element by element (compiled)."""
    least = left[0]
    for i in range(1, m):
        x = left[i]
        if x < least or x != x:
            least = x
            if x != x:
                break
    if (
        least > EPS * top + 1e-6
        and not math.isinf(rate)
        and not (rate > 0 and time + least / rate <= time)
    ):
        return 0, least
    if math.isinf(rate):
        for i in range(m):
            out[i] = i
        return m, math.inf
    count = 0
    rest = math.inf
    first = True
    for i in range(m):
        x = left[i]
        finished = x <= EPS * sizes[i] + 1e-6
        if rate > 0 and time + x / rate <= time:
            finished = True
        if finished:
            out[count] = i
            count += 1
        elif first:
            rest = x
            first = False
        elif rest == rest and (x < rest or x != x):
            rest = x  # (``min`` keeps a NaN once met)
    return count, rest


def fill_loop(
    starts: IntArray,
    links: IntArray,
    limit: FloatArray,
    capacity: FloatArray,
    mult: IntArray,
    out: FloatArray,
) -> None:
    """:func:`cloudsim.platform.flows._fill` compiled (the reference: the same float
    operations in the same order): the max-min rates into ``out`` of flows ``j`` crossing
    ``links[starts[j]:starts[j + 1]]`` with their ``limit``, ``mult[j]`` flows alike standing
    as entry ``j``, over links of ``capacity``. Sets become flags, the links' flow lists one
    array (flows by link, in flow order), the order by limit a stable sort."""
    n_links = capacity.shape[0]
    n_flows = limit.shape[0]
    for j in range(n_flows):
        out[j] = 0.0
    # flows by link, each link's in increasing flow order
    on_start = np.zeros(n_links + 1, dtype=np.int64)
    for e in range(starts[n_flows]):
        on_start[links[e] + 1] += 1
    for k in range(n_links):
        on_start[k + 1] += on_start[k]
    fill_at = on_start[:n_links].copy()
    flows_on = np.empty(starts[n_flows], dtype=np.int64)
    for j in range(n_flows):
        for e in range(starts[j], starts[j + 1]):
            k = links[e]
            flows_on[fill_at[k]] = j
            fill_at[k] += 1
    active = np.zeros(n_flows, dtype=np.bool_)
    n_active = 0
    for j in range(n_flows):
        if limit[j] > 0:
            ok = True
            for e in range(starts[j], starts[j + 1]):
                if capacity[links[e]] <= 0:
                    ok = False
                    break
            if ok:
                active[j] = True
                n_active += 1
    count = np.zeros(n_links)
    residual = capacity.copy()
    full_at = np.empty(n_links)
    for k in range(n_links):
        total = 0
        for e in range(on_start[k], on_start[k + 1]):
            if active[flows_on[e]]:
                total += mult[flows_on[e]]
        count[k] = float(total)
        c = capacity[k]
        full_at[k] = EPS * (1.0 if c < 1.0 else c)  # Python's max(c, 1.0)
    near = np.empty(n_flows)
    for j in range(n_flows):
        near[j] = limit[j] * (1 - EPS)
    by_limit = np.argsort(limit, kind="mergesort")
    order = np.empty(n_active, dtype=np.int64)
    n_order = 0
    for j in by_limit:
        if active[j]:
            order[n_order] = j
            n_order += 1
    first = 0
    live = np.empty(n_links, dtype=np.int64)
    n_live = 0
    for k in range(n_links):
        if count[k] > 0:
            live[n_live] = k
            n_live += 1
    freeze = np.empty(n_flows, dtype=np.int64)
    level = 0.0
    while n_active:
        while not active[order[first]]:
            first += 1
        per_link = math.inf
        for i in range(n_live):
            k = live[i]
            x = residual[k] / count[k]
            if i == 0 or x < per_link:
                per_link = x
        room = limit[order[first]] - level
        step = room if room < per_link else per_link
        if not math.isfinite(step):  # no link and no limit: as fast as it comes
            for j in range(n_flows):
                if active[j]:
                    out[j] = math.inf
            break
        if step < 0.0:  # Python's max(step, 0.0)
            step = 0.0
        level += step
        for i in range(n_live):
            k = live[i]
            residual[k] -= count[k] * step
        n_freeze = 0
        for i in range(first, n_order):
            j = order[i]
            if near[j] > level:
                break
            if active[j]:
                freeze[n_freeze] = j
                n_freeze += 1
                out[j] = limit[j]  # exactly the limit
                active[j] = False
                n_active -= 1
        for i in range(n_live):
            k = live[i]
            if residual[k] <= full_at[k]:
                for e in range(on_start[k], on_start[k + 1]):
                    j = flows_on[e]
                    if active[j]:
                        freeze[n_freeze] = j
                        n_freeze += 1
                        out[j] = level
                        active[j] = False
                        n_active -= 1
        for i in range(n_freeze):
            j = freeze[i]
            for e in range(starts[j], starts[j + 1]):
                count[links[e]] -= mult[j]
        kept = 0
        for i in range(n_live):
            k = live[i]
            if count[k] > 0:
                live[kept] = k
                kept += 1
        n_live = kept


def _compile(numba: Any, functions: Functions) -> Functions:
    """Compiled, with the helpers the loops call swapped for their compiled selves first
    (the loops find them through this module's globals)."""
    jit = numba.njit(cache=True, nogil=True)
    for helper in ("_part", "_block", "_pairwise"):
        globals()[helper] = jit(globals()[helper])
    return {name: jit(fn) for name, fn in functions.items()}


KERNELS = KernelSet(
    "flow kernels",
    lambda: {"advance": advance_loop, "done": done_loop, "fill": fill_loop},
    _compile,
)


def kernels() -> Functions:
    """The compiled kernels by name (compiled once per process, cached on disk)."""
    return KERNELS.compiled()
