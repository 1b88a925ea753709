"""Downtime arithmetic of the availability ledger, vectorised over the whole event log.

Every VM event changes its system's number of running VMs in a centre — ``initial``,
``create``, ``dr_create`` and ``restart`` add one, ``vm_down`` takes one away, ``delete``
and ``dr_delete`` take one away if the VM was running, ``lost`` only ends a VM that was
already down. A system is down while fewer than its required VMs run in centres where it is
served (every centre, unless a serving log says otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cloudsim.records import EventKind

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Event kinds that change a VM's state, and their codes.
INITIAL, CREATE, RESTART, DOWN, DELETE, LOST = range(6)
VM_EVENT_CODES: dict[str, int] = {
    EventKind.INITIAL: INITIAL,
    EventKind.CREATE: CREATE,
    EventKind.DR_CREATE: CREATE,
    EventKind.RESTART: RESTART,
    EventKind.VM_DOWN: DOWN,
    EventKind.DELETE: DELETE,
    EventKind.DR_DELETE: DELETE,
    EventKind.LOST: LOST,
}


@dataclass
class Downtime:
    """Per system: total downtime and the down intervals ``[start, end)``, sorted."""

    seconds: FloatArray  # (S,)
    interval_system: IntArray
    interval_start: FloatArray
    interval_end: FloatArray

    def overlap(self, system: int, start: float, end: float) -> float:
        """Seconds system ``system`` was down within ``[start, end)``."""
        sel = self.interval_system == system
        lo = np.maximum(self.interval_start[sel], start)
        hi = np.minimum(self.interval_end[sel], end)
        return float(np.clip(hi - lo, 0.0, None).sum())


def serving_deltas(
    time: FloatArray,
    system: IntArray,
    centre: IntArray,
    delta: IntArray,
    serving0: npt.NDArray[np.bool_],
    changes: list[tuple[float, int, int, bool]],
) -> tuple[FloatArray, IntArray, IntArray]:
    """Change in each system's running VMs *in serving centres*, in time order.

    Per (system, centre) the running count is the cumulative sum of the VM deltas and the
    serving flag the last value set (``serving0`` at the start, then ``changes``); each
    event changes the system's count by the change of ``running x serving``.
    """
    n_sys, n_c = serving0.shape
    groups = n_sys * n_c
    m = len(changes)
    ct = np.array([c[0] for c in changes], dtype=np.float64)
    cg = np.array([c[1] * n_c + c[2] for c in changes], dtype=np.int64)
    cv = np.array([int(c[3]) for c in changes], dtype=np.int64)
    n = len(time)
    t = np.concatenate([np.zeros(groups), time, ct])
    g = np.concatenate([np.arange(groups, dtype=np.int64), system * n_c + centre, cg])
    run = np.concatenate([np.zeros(groups, dtype=np.int64), delta, np.zeros(m, dtype=np.int64)])
    setv = np.concatenate([serving0.ravel().astype(np.int64), np.full(n, -1), cv])
    seq = np.concatenate([np.full(groups, -1), np.arange(n), np.arange(n, n + m)])
    order = np.lexsort((seq, t, g))
    g_s, run_s, set_s = g[order], run[order], setv[order]
    first = np.flatnonzero(np.r_[True, g_s[1:] != g_s[:-1]])
    sizes = np.diff(np.r_[first, len(g_s)])
    running = np.cumsum(run_s)
    running -= np.repeat(running[first] - run_s[first], sizes)
    pos = np.where(set_s >= 0, np.arange(len(set_s)), -1)
    last_set = np.maximum.accumulate(pos)  # every group starts with its initial value
    serving = set_s[last_set]
    contrib = running * serving
    prev = np.r_[0, contrib[:-1]]
    prev[first] = 0
    change = np.empty_like(contrib)
    change[order] = contrib - prev
    keep = np.arange(groups, groups + n + m)
    back = np.lexsort((seq[keep], t[keep]))
    idx = keep[back]
    return t[idx], g[idx] // n_c, change[idx]


def previous_in_group(group: IntArray, values: IntArray, missing: int) -> IntArray:
    """For each position (log order), ``values`` at the previous position of its group."""
    order = np.argsort(group, kind="stable")
    prev = np.full(len(group), missing, dtype=np.int64)
    same = group[order[1:]] == group[order[:-1]]
    prev[order[1:][same]] = values[order[:-1][same]]
    return prev


def next_in_group(group: IntArray, missing: int) -> IntArray:
    """For each position, the index of the next position of its group (or ``missing``)."""
    order = np.argsort(group, kind="stable")
    nxt = np.full(len(group), missing, dtype=np.int64)
    same = group[order[1:]] == group[order[:-1]]
    nxt[order[:-1][same]] = order[1:][same]
    return nxt


def running_deltas(code: IntArray, vm: IntArray) -> IntArray:
    """Change in the system's running VMs caused by each VM event (in log order)."""
    prev = previous_in_group(vm, code, -1)
    delta = np.zeros(len(code), dtype=np.int64)
    delta[(code == INITIAL) | (code == CREATE) | (code == RESTART)] = 1
    delta[code == DOWN] = -1
    delta[(code == DELETE) & (prev != DOWN)] = -1
    return delta


def system_downtime(
    time: FloatArray,
    system: IntArray,
    delta: IntArray,
    required: IntArray,
    horizon: float,
) -> Downtime:
    """Downtime per system from its running-VM changes (events in log order)."""
    n = len(required)
    if n == 0:
        empty = np.zeros(0)
        return Downtime(empty, np.zeros(0, dtype=np.int64), empty, empty)
    # every system starts at t=0 with nothing running
    time = np.concatenate([np.zeros(n), np.minimum(time, horizon)])
    system = np.concatenate([np.arange(n, dtype=np.int64), system])
    delta = np.concatenate([np.zeros(n, dtype=np.int64), delta])
    order = np.argsort(system, kind="stable")
    sys_s, t_s = system[order], time[order]
    running = np.cumsum(delta[order])
    first = np.flatnonzero(np.r_[True, sys_s[1:] != sys_s[:-1]])
    running -= np.repeat(running[first] - delta[order][first], np.diff(np.r_[first, len(sys_s)]))
    down = running < required[sys_s]
    last_of_system = np.r_[sys_s[1:] != sys_s[:-1], True]
    next_t = np.where(last_of_system, horizon, np.r_[t_s[1:], horizon])
    seconds = np.bincount(sys_s, weights=(next_t - t_s) * down, minlength=n).astype(np.float64)
    # the state at the end of each instant, then its transitions
    settled = last_of_system | (next_t > t_s)
    sys_p, t_p, down_p = sys_s[settled], t_s[settled], down[settled]
    start_of_system = np.r_[True, sys_p[1:] != sys_p[:-1]]
    prev_down = np.r_[False, down_p[:-1]] & ~start_of_system
    starts = down_p & ~prev_down
    ends = ~down_p & prev_down
    end_of_system = np.r_[sys_p[1:] != sys_p[:-1], True]
    open_at_end = down_p & end_of_system
    end_times = np.concatenate([t_p[ends], np.full(int(open_at_end.sum()), horizon)])
    end_systems = np.concatenate([sys_p[ends], sys_p[open_at_end]])
    end_order = np.lexsort((end_times, end_systems))
    interval_start = t_p[starts]
    interval_end = end_times[end_order]
    keep = interval_end > interval_start
    return Downtime(
        seconds=seconds,
        interval_system=sys_p[starts][keep],
        interval_start=interval_start[keep],
        interval_end=interval_end[keep],
    )
