"""Compiled scans for the common placement case (optional: ``pip install cloudsim[fast]``).

One decision of the ``spread`` or ``binpack`` presets (a lone ``least_allocated`` or
``most_allocated`` scorer) over a group of hosts is a single pass: capacity filters, the
score, the best host and how many hosts tie with it. The numpy path of
:class:`~cloudsim.placement.core.Placer` stays the reference: these kernels do the same
floating-point operations in the same order (no fast-math, so no fused multiply-add), and a
property test checks that both give identical decisions, ties drawn alike.

Without numba the module still imports (:mod:`cloudsim.compiled`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from cloudsim.compiled import Functions, KernelSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _score_one(
    free: FloatArray,
    winv: FloatArray,
    demand: IntArray,
    weighted: IntArray,
    most: bool,
    weight: float,
    h: int,
) -> float:
    """The score of the host in column ``h``."""
    s = 0.0
    for k in range(weighted.size):
        r = weighted[k]
        term = (free[r, h] - float(demand[r])) * winv[r, h]
        s = term if k == 0 else s + term
    if most:
        s = 100.0 - s
    if weight != 1.0:
        s = s * weight
    return s


def _scan(
    free: FloatArray,
    winv: FloatArray,
    layout: IntArray,
    demand: IntArray,
    weighted: IntArray,
    most: bool,
    weight: float,
    allowed: BoolArray,
    use_allowed: bool,
    eps: float,
    out: FloatArray,
) -> tuple[int, int]:
    """Scores of a group's hosts into ``out`` (-inf: filtered out); (first best, ties) by
    position. ``layout`` is ``[runs, start0, stop0, start1, stop1, ..., down...]``: the
    group's hosts are the columns of ``free`` and ``winv`` in the ``runs`` runs, taken in
    that order (host ``i`` of the group is the ``i``-th of those columns), and the
    positions after them are those of its hosts down or cordoned. A host passes when it is
    not one of those and has each resource the (integer) ``demand`` asks for. Row by row
    and run by run, branch-free, so the loops vectorise; each host's arithmetic is
    :func:`_score_one`'s."""
    runs = layout[0]
    spans = layout[1 : 1 + 2 * runs]
    for k in range(weighted.size):
        r = weighted[k]
        d = float(demand[r])
        o = 0
        for s in range(runs):
            lo, hi = spans[2 * s], spans[2 * s + 1]
            dst, f, w = out[o : o + hi - lo], free[r, lo:hi], winv[r, lo:hi]
            if k == 0:
                for i in range(hi - lo):
                    dst[i] = (f[i] - d) * w[i]
            else:
                for i in range(hi - lo):
                    dst[i] = dst[i] + (f[i] - d) * w[i]
            o += hi - lo
    n = out.size
    if most:
        for i in range(n):
            out[i] = 100.0 - out[i]
    if weight != 1.0:
        for i in range(n):
            out[i] = out[i] * weight
    for r in range(demand.size):
        if demand[r] > 0:
            d = float(demand[r])
            o = 0
            for s in range(runs):
                lo, hi = spans[2 * s], spans[2 * s + 1]
                dst, f = out[o : o + hi - lo], free[r, lo:hi]
                for i in range(hi - lo):
                    if f[i] < d:
                        dst[i] = -np.inf
                o += hi - lo
    for k in range(1 + 2 * runs, layout.size):
        out[layout[k]] = -np.inf
    if use_allowed:
        for i in range(n):
            if not allowed[i]:
                out[i] = -np.inf
    return _best(out, eps)


def _highest(out: FloatArray) -> float:
    """The largest value, -inf when empty. Eight running maxima break the chain of
    dependent comparisons (several times faster); a maximum is exact in any order, and
    scores are never NaN (finite integers times finite inverses)."""
    n = out.size
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = -np.inf
    m = n - n % 8
    for i in range(0, m, 8):
        v = out[i]
        b0 = v if v > b0 else b0
        v = out[i + 1]
        b1 = v if v > b1 else b1
        v = out[i + 2]
        b2 = v if v > b2 else b2
        v = out[i + 3]
        b3 = v if v > b3 else b3
        v = out[i + 4]
        b4 = v if v > b4 else b4
        v = out[i + 5]
        b5 = v if v > b5 else b5
        v = out[i + 6]
        b6 = v if v > b6 else b6
        v = out[i + 7]
        b7 = v if v > b7 else b7
    for i in range(m, n):
        v = out[i]
        b0 = v if v > b0 else b0
    b0 = max(b0, b1, b2, b3)
    b4 = max(b4, b5, b6, b7)
    return b0 if b0 > b4 else b4


def _best(out: FloatArray, eps: float) -> tuple[int, int]:
    """(first best, ties within ``eps``) over scores in ``out``; (-1, 0) when all are -inf."""
    best = _highest(out)
    if best == -np.inf:
        return -1, 0
    first = 0
    while out[first] != best:
        first += 1
    threshold = best - eps
    count = 0
    for i in range(out.size):
        count += out[i] >= threshold
    return first, count


def _nth_tie(out: FloatArray, first: int, eps: float, nth: int) -> int:
    """Position of the ``nth`` (from 0) host tying with the best, in position order."""
    threshold = out[first] - eps
    seen = 0
    for i in range(out.size):
        if out[i] >= threshold:
            if seen == nth:
                return i
            seen += 1
    return -1


def _sync(ordered: FloatArray, free: FloatArray, position: IntArray, changed: IntArray) -> None:
    """Copy the columns of the hosts ``changed`` of ``free`` into ``ordered``, where host
    ``h`` is column ``position[h]``."""
    for k in range(changed.size):
        h = changed[k]
        c = position[h]
        for r in range(free.shape[0]):
            ordered[r, c] = free[r, h]


def _compile(numba: Any, functions: Functions) -> Functions:
    """Compiled, with :func:`_best` and :func:`_highest` swapped for their compiled selves
    first (the scan calls them)."""
    jit = numba.njit(cache=True, nogil=True)
    # a maximum is exact in any order; NaN never occurs (scores of finite integers)
    globals()["_highest"] = numba.njit(cache=True, nogil=True, fastmath={"nnan", "reassoc"})(
        _highest
    )
    best = jit(functions["best"])
    globals()["_best"] = best  # _scan calls the compiled one
    compiled = {name: jit(fn) for name, fn in functions.items() if name != "best"}
    return {**compiled, "best": best}


KERNELS = KernelSet(
    "placement kernels",
    lambda: {
        "scan": _scan,
        "best": _best,
        "nth_tie": _nth_tie,
        "score_one": _score_one,
        "sync": _sync,
    },
    _compile,
)


def kernels() -> Functions:
    """The compiled kernels by name (compiled once per process, cached on disk)."""
    return KERNELS.compiled()
