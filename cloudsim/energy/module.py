"""The energy module: utilisation, power, energy and cost (an ``energy`` section).

One controller tick (``energy.tick``) takes every running cloud host's CPU and memory
utilisation (from its system's profile or trace), sums it per host with ``np.bincount``
(capped at the host's threads: what is above is contention, CPU-seconds wanted and not
served), applies each host class's power curve to the host's utilisation (not to its
allocation) and each centre's PUE; the resulting rates hold until the next tick, so energy
(kWh) and its cost (with time-of-use prices integrated exactly over each interval) are
exact integrals of that step function. Host power is attributed to the cloud hosts on it
(idle power by allocated vCPUs, the rest by vCPUs used) and so to systems and departments.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import simpy
from rich.table import Table

from cloudsim.energy.checks import check_references, check_world
from cloudsim.energy.design import EnergyDesign, compile_design
from cloudsim.energy.schema import Energy
from cloudsim.kernel import Context, Finding, Module, Results
from cloudsim.records.columns import names_column
from cloudsim.scenario.schema import Scenario
from cloudsim.units import HOUR, YEAR, round6
from cloudsim.world import World

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Bins of the per-VM utilisation histograms (the 95th percentile's resolution is 1/BINS).
BINS = 1000
MONTH = YEAR / 12
#: Rates per pool, in this order (kW, kW, cores, cores, cores, MiB, MiB).
POOL_RATES = (
    "it_kw",
    "facility_kw",
    "cpu_served",
    "cpu_unserved",
    "threads_up",
    "mem_used",
    "mem_up",
)
#: Rates per department and per system: attributed power, then what their cloud hosts hold.
OWNER_RATES = ("it_kw", "facility_kw", "vcpus", "gib", "tb", "cpu_used", "cpu_running")


class EnergyModule(Module):
    """Utilisation, power, energy and cost (see the module docstring)."""

    name = "energy"
    section = "energy"
    schema = Energy
    streams = ("energy",)
    requires = ("iaas",)

    @classmethod
    def check_references(cls, scenario: Scenario) -> list[Finding]:
        return check_references(scenario, _section(scenario))

    @classmethod
    def check_world(cls, world: World) -> list[Finding]:
        return check_world(world.scenario, _section(world.scenario))

    @classmethod
    def compile(cls, world: World) -> EnergyDesign:
        return compile_design(world, _section(world.scenario))

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        world = ctx.world
        self.design: EnergyDesign = world.design(self.name)
        self.rng = ctx.stream("energy")
        hosts = ctx.hosts
        self.threads = hosts.capacity[0] / 1000.0
        # each pool's centre from the scenario (a pool with no host has one too)
        dc_index = {name: i for i, name in enumerate(hosts.datacenter_names)}
        self.pool_dc = np.array(
            [dc_index[p.datacenter] for p in ctx.world.scenario.pools], dtype=np.int64
        )
        self.class_hosts = [
            np.flatnonzero(self.design.host_class == c) for c in range(len(self.design.curves))
        ]
        # Host -> pool, centre and class sums as one matrix product each tick.
        self.by_pool = _one_hot(hosts.pool, len(hosts.pool_names))
        self.by_dc = _one_hot(hosts.datacenter, len(hosts.datacenter_names))
        self.by_class = _one_hot(self.design.host_class, len(self.design.curves))
        self.by_department = _one_hot(
            np.array([p.department for p in world.profiles], dtype=np.int64),
            len(world.departments),
        )
        # Centres whose PUE depends on load (the others' is constant).
        self.pue_fixed = np.array(
            [c.y[0] if c.y.min() == c.y.max() else np.nan for c in self.design.pue]
        )
        self.pue_varies = [d for d, c in enumerate(self.design.pue) if np.isnan(self.pue_fixed[d])]
        self.idle_w = np.zeros(hosts.size)
        for c, idx in enumerate(self.class_hosts):
            self.idle_w[idx] = self.design.curves[c](np.zeros(1))[0]
        d, s = len(world.departments), len(world.systems)
        n_dc = len(hosts.datacenter_names)
        # Rates, constant between ticks.
        self.pool_rate = np.zeros((len(POOL_RATES), len(hosts.pool_names)))
        self.dc_rate = np.zeros((2, n_dc))
        self.class_rate = np.zeros(len(self.design.curves))
        self.dept_rate = np.zeros((len(OWNER_RATES), d))
        self.sys_rate = np.zeros((len(OWNER_RATES), s))
        # Integrals (rate × seconds) and costs (rate × ∫price dt in hours).
        self.pool_acc = np.zeros_like(self.pool_rate)  # this sample interval
        self.pool_cost = np.zeros(len(hosts.pool_names))
        self.dc_acc = np.zeros_like(self.dc_rate)
        self.dc_cost = np.zeros(n_dc)
        self.dc_peak = np.zeros_like(self.dc_rate)
        #: The platform's own peak (IT, facility kW): not the sum of each centre's peak.
        self.total_peak = np.zeros(2)
        self.class_acc = np.zeros_like(self.class_rate)
        self.dept_acc = np.zeros_like(self.dept_rate)
        self.dept_cost = np.zeros(d)
        self.sys_acc = np.zeros_like(self.sys_rate)
        self.sys_cost = np.zeros(s)
        self._t = 0.0
        self._interval_start = 0.0
        self._rows: list[dict[str, Any]] = []
        # Per VM-table row: the VM seen there, its noise state, trace task and statistics.
        self._row_vm = np.zeros(0, dtype=np.int64)
        self._z = np.zeros(0)
        self._task = np.zeros(0, dtype=np.int64)
        self._profile = np.zeros(0, dtype=np.int64)  # the row's system's profile, or -1
        self._cpu_int = np.zeros(0)
        self._mem_level = np.zeros(0)  # the row's VM's memory utilisation (constant)
        # What each row's VM holds (cpu, memory, disk; 0 when no VM) and of which system:
        # the systems' allocations follow changes of rows, not a sum over all rows a tick.
        self._held = np.zeros((3, 0), dtype=np.int64)
        self._held_system = np.zeros(0, dtype=np.int64)
        self.sys_alloc = np.zeros((3, s), dtype=np.int64)
        self._run_s = np.zeros(0)
        #: Per-VM histograms of tick values for the percentiles (``vm_percentiles``): one
        #: scattered write per VM and tick, the costliest part of a tick, so opt-in.
        self._bins = BINS if self.design.section.vm_percentiles else 0
        self._hist = np.zeros((0, self._bins), dtype=np.int32)
        self._hist_flat = self._hist.reshape(-1)
        self._traced = 0  # live rows replaying a trace
        self._one_timescale = len(set(self.design.timescale.tolist())) == 1
        self._assigned = np.zeros(len(self.design.traces), dtype=np.int64)
        self._done: list[
            tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray, IntArray]
        ] = []

    # -- the controller ------------------------------------------------------------------------
    def processes(self) -> Iterable[Generator[simpy.Event, Any, None]]:
        return (self._controller(),)

    def _controller(self) -> Generator[simpy.Event, Any, None]:
        env = self.ctx.env
        horizon = self.ctx.horizon
        while env.now < horizon:
            dt = min(self.design.tick, horizon - env.now)
            self.tick(env.now, dt)
            self.ctx.count()
            yield env.timeout(dt)

    def _grow(self, n: int) -> None:
        old = len(self._row_vm)
        if n <= old:
            return
        extra = n - old
        self._row_vm = np.concatenate([self._row_vm, np.full(extra, -1, dtype=np.int64)])
        self._z = np.concatenate([self._z, np.zeros(extra)])
        self._task = np.concatenate([self._task, np.full(extra, -1, dtype=np.int64)])
        self._profile = np.concatenate([self._profile, np.full(extra, -1, dtype=np.int64)])
        for name in ("_cpu_int", "_mem_level", "_run_s"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(extra)]))
        self._held = np.concatenate([self._held, np.zeros((3, extra), dtype=np.int64)], axis=1)
        self._held_system = np.concatenate([self._held_system, np.zeros(extra, dtype=np.int64)])
        self._hist = np.concatenate([self._hist, np.zeros((extra, self._bins), dtype=np.int32)])
        self._hist_flat = self._hist.reshape(-1)

    def _flush(self, rows: IntArray) -> None:
        """Keep the statistics of the VMs that held ``rows`` and clear the rows."""
        rows = rows[self._row_vm[rows] >= 0]
        if rows.size:
            p95 = np.full(rows.size, np.nan)
            if self._bins:
                cum = np.cumsum(self._hist[rows], axis=1)
                total = cum[:, -1]
                first = np.argmax(cum >= 0.95 * np.maximum(total, 1)[:, None], axis=1)
                p95 = np.where(total > 0, (first + 0.5) / BINS, np.nan)
            self._done.append(
                (
                    self._row_vm[rows].copy(),
                    self._run_s[rows].copy(),
                    self._cpu_int[rows].copy(),
                    self._mem_level[rows] * self._run_s[rows],
                    p95,
                    self._task[rows].copy(),
                )
            )
        self._traced -= int((self._task[rows] >= 0).sum())
        self._row_vm[rows] = -1
        self._task[rows] = -1
        self._profile[rows] = -1
        self._cpu_int[rows] = 0.0
        self._mem_level[rows] = 0.0
        self._run_s[rows] = 0.0
        self._hist[rows] = 0

    def _turnover(self, current: IntArray) -> None:
        """Rows whose VM changed since the last tick: statistics kept, new VMs set up."""
        changed = np.flatnonzero(current != self._row_vm)
        if not changed.size:
            return
        self._flush(changed)
        new = changed[current[changed] >= 0]
        new = new[np.argsort(current[new], kind="stable")]  # in order of creation
        self._row_vm[new] = current[new]
        self._z[new] = self.rng.standard_normal(new.size)
        system = self.ctx.platform.vms.ints["system"][new]
        self._profile[new] = profile = self.design.system_profile[system]
        # A trace's rows get theirs below; the appended 0 is for index -1.
        self._mem_level[new] = np.append(self.design.memory_mean, 0.0)[profile]
        trace = self.design.system_trace[system]
        for k, tr in enumerate(self.design.traces):
            mine = new[trace == k]
            self._task[mine] = (self._assigned[k] + np.arange(mine.size)) % tr.tasks
            self._assigned[k] += mine.size
            self._traced += mine.size
            self._mem_level[mine] = self.design.trace_memory[k]

    def utilisation(self, rows: IntArray, t: float, dt: float) -> tuple[FloatArray, FloatArray]:
        """CPU and memory utilisation of the running VMs in ``rows`` over [t, t + dt)."""
        design = self.design
        cpu = np.zeros(rows.size)
        mem = self._mem_level[rows]
        profile = self._profile[rows]
        on_profile: npt.NDArray[np.bool_] | slice
        if self._traced:
            on_profile = profile >= 0
            rp, p = rows[on_profile], profile[on_profile]
        else:  # every running VM follows a profile
            on_profile, rp, p = slice(None), rows, profile
        if rp.size:
            eps = self.rng.standard_normal(rp.size)
            if self._one_timescale:
                phi = float(np.exp(-dt / design.timescale[0]))
                z = phi * self._z[rp] + np.sqrt(1.0 - phi * phi) * eps
            else:
                phis = np.exp(-dt / design.timescale)
                z = phis[p] * self._z[rp] + np.sqrt(1.0 - phis * phis)[p] * eps
            self._z[rp] = z
            local = t + design.week_offset
            hour = int(local // HOUR) % 24
            day = int(local // (24 * HOUR)) % 7
            level = (
                design.cpu_mean
                * design.diurnal[:, hour]
                * design.weekly[:, day]
                * design.campaigns.factors(t, len(design.cpu_mean))
            )
            cpu[on_profile] = np.clip(level[p] + (level * design.noise)[p] * z, 0.0, 1.0)
        if self._traced:
            vms = self.ctx.platform.vms
            trace = design.system_trace[vms.ints["system"][rows]]
            for k, tr in enumerate(design.traces):
                sel = trace == k
                if sel.any():
                    r = rows[sel]
                    age = t - vms.floats["created"][r]
                    cpu[sel] = np.clip(tr.mean(self._task[r], age, dt), 0.0, 1.0)
        return cpu, mem

    def tick(self, t: float, dt: float) -> None:
        """Integrate the rates up to ``t``, then set them for [t, t + dt)."""
        self._advance(t)
        design = self.design
        hosts = self.ctx.hosts
        platform = self.ctx.platform
        vms = platform.vms
        self._grow(len(vms.live))
        current = np.where(vms.live, vms.ints["vm_id"], -1)
        self._turnover(current)
        running = vms.live.copy()
        for waiting in platform.ha.waiting.values():
            running[waiting.row] = False
        host_of = vms.ints["host"]
        running[running] &= hosts.up[host_of[running]]
        rows = np.flatnonzero(running)
        cpu, mem = self.utilisation(rows, t, dt)
        h = host_of[rows]
        n = hosts.size
        vcpus = vms.demand[0, rows] / 1000.0
        used = cpu * vcpus
        want = np.bincount(h, weights=used, minlength=n)
        served = np.minimum(want, self.threads)
        util = np.divide(served, self.threads, out=np.zeros(n), where=self.threads > 0)
        mem_used = np.minimum(
            np.bincount(h, weights=mem * vms.demand[1, rows], minlength=n), hosts.capacity[1]
        )
        power = np.zeros(n)
        for c, idx in enumerate(self.class_hosts):
            power[idx] = design.curves[c](util[idx])
        up = hosts.up
        power *= up
        kw = power / 1000.0
        dc_it = kw @ self.by_dc
        pue = self.pue_fixed.copy()
        for d in self.pue_varies:
            load = dc_it[d] / design.peak_kw[d] if design.peak_kw[d] > 0 else 0.0
            pue[d] = design.pue[d](np.array([load]))[0]
        self.dc_rate[0] = dc_it
        self.dc_rate[1] = dc_it * pue
        np.maximum(self.dc_peak, self.dc_rate, out=self.dc_peak)
        np.maximum(self.total_peak, self.dc_rate.sum(axis=1), out=self.total_peak)
        per_host = np.stack(
            [kw, kw, served, want - served, self.threads * up, mem_used, hosts.capacity[1] * up]
        )
        self.pool_rate = per_host @ self.by_pool
        self.pool_rate[1] *= pue[self.pool_dc]
        self.class_rate = kw @ self.by_class
        # Attribution: idle power by allocated vCPUs (the unallocated part to nobody), the
        # rest by vCPUs used; facility power with the host's centre's PUE.
        allocated = np.bincount(h, weights=vcpus, minlength=n)
        idle = self.idle_w * up
        share_alloc = vcpus / np.maximum(allocated, self.threads)[h]
        share_used = np.divide(used, want[h], out=np.zeros(rows.size), where=want[h] > 0)
        watts = idle[h] * share_alloc + (power - idle)[h] * share_used
        facility = watts * pue[hosts.datacenter[h]]
        rate = self.sys_rate
        k = rate.shape[1]
        owner = vms.ints["system"][rows]
        self._follow_allocations()
        rate[0] = np.bincount(owner, weights=watts, minlength=k) / 1000.0
        rate[1] = np.bincount(owner, weights=facility, minlength=k) / 1000.0
        rate[2] = self.sys_alloc[0] / 1000.0
        rate[3] = self.sys_alloc[1] / 1024.0
        rate[4] = self.sys_alloc[2] / 1000.0
        rate[5] = np.bincount(owner, weights=used, minlength=k)
        rate[6] = np.bincount(owner, weights=vcpus, minlength=k)
        self.dept_rate = rate @ self.by_department
        # Each VM's own statistics over the interval.
        self._cpu_int[rows] += cpu * dt
        self._run_s[rows] += dt
        if self._bins:
            bins = np.minimum((cpu * BINS).astype(np.int64), BINS - 1)
            self._hist_flat[rows * BINS + bins] += 1

    def _follow_allocations(self) -> None:
        """Each system's allocated vCPUs, memory and disk (live cloud hosts, stopped ones
        included: they are billed), updated from the rows that changed (a VM came or went,
        or was resized in place)."""
        vms = self.ctx.platform.vms
        live = vms.live
        now = vms.demand[:3] * live
        system = np.where(live, vms.ints["system"], 0)
        changed = np.flatnonzero((now != self._held).any(axis=0) | (system != self._held_system))
        if not changed.size:
            return
        k = self.sys_alloc.shape[1]
        before, after = self._held_system[changed], system[changed]
        for r in range(3):
            self.sys_alloc[r] -= np.bincount(
                before, weights=self._held[r, changed], minlength=k
            ).astype(np.int64)
            self.sys_alloc[r] += np.bincount(after, weights=now[r, changed], minlength=k).astype(
                np.int64
            )
        self._held[:, changed] = now[:, changed]
        self._held_system[changed] = after

    def _advance(self, t: float) -> None:
        """Integrate the current rates from the last time integrated to ``t``."""
        dt = t - self._t
        if dt <= 0:
            return
        hours = self.design.price_integral(self._t, t)
        self.pool_acc += self.pool_rate * dt
        self.pool_cost += self.pool_rate[1] * hours
        self.dc_acc += self.dc_rate * dt
        self.dc_cost += self.dc_rate[1] * hours
        self.class_acc += self.class_rate * dt
        self.dept_acc += self.dept_rate * dt
        self.dept_cost += self.dept_rate[1] * hours
        self.sys_acc += self.sys_rate * dt
        self.sys_cost += self.sys_rate[1] * hours
        self._t = t

    def sample(self, now: float) -> None:
        """One row per pool for the interval since the last sample."""
        self._advance(now)
        start = self._interval_start
        if now <= start:
            return
        dt = now - start
        acc = self.pool_acc
        capital = np.bincount(
            self.ctx.hosts.pool,
            weights=self.design.capital_per_s * dt,
            minlength=len(self.pool_dc),
        )
        self._rows.append(
            {
                "time": np.full(len(self.pool_dc), start),
                "duration_s": np.full(len(self.pool_dc), dt),
                "pool": np.arange(len(self.pool_dc)),
                "acc": acc.copy(),
                "electricity_cost": self.pool_cost.copy(),
                "capital_cost": capital,
            }
        )
        acc[:] = 0.0
        self.pool_cost[:] = 0.0
        self._interval_start = now

    def finish(self, now: float) -> None:
        self._advance(now)
        self._flush(np.arange(len(self._row_vm)))

    # -- results ---------------------------------------------------------------------------------
    def tables(self, results: Results) -> Mapping[str, pa.Table]:
        world = self.ctx.world
        hosts = self.ctx.hosts
        parts = self._rows
        time = np.concatenate([p["time"] for p in parts]) if parts else np.zeros(0)
        duration = np.concatenate([p["duration_s"] for p in parts]) if parts else np.zeros(0)
        pool = np.concatenate([p["pool"] for p in parts]) if parts else np.zeros(0, np.int64)
        acc = np.concatenate([p["acc"] for p in parts], axis=1) if parts else np.zeros((7, 0))
        electricity = (
            np.concatenate([p["electricity_cost"] for p in parts]) if parts else np.zeros(0)
        )
        capital = np.concatenate([p["capital_cost"] for p in parts]) if parts else np.zeros(0)
        span = np.maximum(duration, 1e-300)

        def ratio(a: FloatArray, b: FloatArray) -> pa.Array:
            return pa.array(np.divide(a, b, out=np.zeros_like(a), where=b > 0))

        energy = pa.table(
            {
                "time": pa.array(time, pa.float64()),
                "duration_s": pa.array(duration, pa.float64()),
                "datacenter": names_column(self.pool_dc[pool], hosts.datacenter_names),
                "pool": names_column(pool, hosts.pool_names),
                "cpu_utilisation": ratio(acc[2], acc[4]),
                "memory_utilisation": ratio(acc[5], acc[6]),
                "cpu_unserved_core_s": pa.array(acc[3]),
                "it_kw": pa.array(acc[0] / span),
                "facility_kw": pa.array(acc[1] / span),
                "pue": ratio(acc[1], acc[0]),
                "it_kwh": pa.array(acc[0] / HOUR),
                "kwh": pa.array(acc[1] / HOUR),
                "electricity_cost": pa.array(electricity),
                "capital_cost": pa.array(capital),
                "cost": pa.array(electricity + capital),
            }
        )
        sys_acc = self.sys_acc
        chargeback = self._chargeback(sys_acc)
        systems = pa.table(
            {
                "system": pa.array(list(world.systems), pa.string()),
                "department": pa.array([s.department for s in world.scenario.systems], pa.string()),
                "it_kwh": pa.array(sys_acc[0] / HOUR),
                "facility_kwh": pa.array(sys_acc[1] / HOUR),
                "electricity_cost": pa.array(self.sys_cost),
                "vcpu_months": pa.array(sys_acc[2] / MONTH),
                "gib_months": pa.array(sys_acc[3] / MONTH),
                "tb_months": pa.array(sys_acc[4] / MONTH),
                "chargeback": pa.array(chargeback),
                "cpu_utilisation": ratio(sys_acc[5], sys_acc[6]),
            }
        )
        vm_id, run_s, cpu_int, mem_int, p95, task = (
            np.concatenate([d[i] for d in self._done]) if self._done else np.zeros(0)
            for i in range(6)
        )
        order = np.argsort(vm_id, kind="stable")
        vm_id, run_s, cpu_int, mem_int, p95, task = (
            a[order] for a in (vm_id, run_s, cpu_int, mem_int, p95, task)
        )
        vm_cols = self.ctx.platform.vms.columns()
        system = (
            vm_cols["system"][np.searchsorted(vm_cols["vm_id"], vm_id)] if vm_id.size else vm_id
        )
        trace_task = np.full(vm_id.size, -1, dtype=np.int64)
        trace_of = self.design.system_trace[system.astype(np.int64)] if vm_id.size else vm_id
        for k, tr in enumerate(self.design.traces):
            sel = trace_of == k
            trace_task[sel] = tr.task_ids[task[sel].astype(np.int64)]
        vms = pa.table(
            {
                "vm_id": pa.array(vm_id.astype(np.int64)),
                "system": names_column(system.astype(np.int64), world.systems),
                "trace_task": pa.array(trace_task, mask=trace_task < 0),
                "running_s": pa.array(run_s.astype(np.float64)),
                "cpu_utilisation_mean": ratio(cpu_int.astype(np.float64), run_s.astype(np.float64)),
                "cpu_utilisation_p95": pa.array(p95.astype(np.float64), mask=np.isnan(p95)),
                "memory_utilisation_mean": ratio(
                    mem_int.astype(np.float64), run_s.astype(np.float64)
                ),
            }
        )
        return {"energy": energy, "energy_systems": systems, "vm_utilisation": vms}

    def _chargeback(self, acc: FloatArray) -> FloatArray:
        prices = self.design.section.chargeback
        charge: FloatArray = (
            acc[2] * prices.vcpu_month + acc[3] * prices.gib_month + acc[4] * prices.tb_month
        ) / MONTH
        return charge

    def summary(self, results: Results) -> Mapping[str, Any]:
        world = self.ctx.world
        hosts = self.ctx.hosts
        horizon_h = self.ctx.horizon / HOUR
        capital_dc = np.bincount(
            hosts.datacenter,
            weights=self.design.capital_per_s * self.ctx.horizon,
            minlength=len(hosts.datacenter_names),
        )
        pool_totals = self._pool_totals()
        dc_cpu = np.bincount(self.pool_dc, weights=pool_totals[2], minlength=len(capital_dc))
        dc_threads = np.bincount(self.pool_dc, weights=pool_totals[4], minlength=len(capital_dc))
        centres = {}
        for d, name in enumerate(hosts.datacenter_names):
            it_kwh = self.dc_acc[0, d] / HOUR
            fac_kwh = self.dc_acc[1, d] / HOUR
            centres[name] = {
                "it_kwh": round6(it_kwh),
                "facility_kwh": round6(fac_kwh),
                "it_kw_mean": round6(it_kwh / horizon_h),
                "it_kw_peak": round6(self.dc_peak[0, d]),
                "facility_kw_mean": round6(fac_kwh / horizon_h),
                "facility_kw_peak": round6(self.dc_peak[1, d]),
                "pue": round6(fac_kwh / it_kwh) if it_kwh > 0 else 0.0,
                "cpu_utilisation_mean": round6(dc_cpu[d] / dc_threads[d]) if dc_threads[d] else 0.0,
                "electricity_cost": round6(self.dc_cost[d]),
                "capital_cost": round6(capital_dc[d]),
                "cost": round6(self.dc_cost[d] + capital_dc[d]),
            }
        pools = {}
        for p, name in enumerate(hosts.pool_names):
            pools[name] = {
                "datacenter": hosts.datacenter_names[int(self.pool_dc[p])],
                "cpu_utilisation_mean": round6(pool_totals[2, p] / pool_totals[4, p])
                if pool_totals[4, p]
                else 0.0,
                "cpu_unserved_core_h": round6(pool_totals[3, p] / HOUR),
                "it_kwh": round6(pool_totals[0, p] / HOUR),
                "facility_kwh": round6(pool_totals[1, p] / HOUR),
            }
        dept_charge = self._chargeback(self.dept_acc)
        departments = {}
        for k, name in enumerate(world.departments):
            acc = self.dept_acc[:, k]
            departments[name] = {
                "it_kwh": round6(acc[0] / HOUR),
                "facility_kwh": round6(acc[1] / HOUR),
                "electricity_cost": round6(self.dept_cost[k]),
                "vcpu_months": round6(acc[2] / MONTH),
                "gib_months": round6(acc[3] / MONTH),
                "tb_months": round6(acc[4] / MONTH),
                "chargeback": round6(dept_charge[k]),
            }
        it_kwh = float(self.dc_acc[0].sum() / HOUR)
        fac_kwh = float(self.dc_acc[1].sum() / HOUR)
        electricity = float(self.dc_cost.sum())
        capital = float(capital_dc.sum())
        attributed = float(self.dept_acc[1].sum() / HOUR)
        return {
            "energy": {
                "currency": self.design.section.currency,
                "tick_s": self.design.tick,
                "it_kwh": round6(it_kwh),
                "facility_kwh": round6(fac_kwh),
                "it_kw_mean": round6(it_kwh / horizon_h),
                "facility_kw_mean": round6(fac_kwh / horizon_h),
                "facility_kw_peak": round6(float(self.total_peak[1])),
                "electricity_cost": round6(electricity),
                "capital_cost": round6(capital),
                "cost": round6(electricity + capital),
                "chargeback": round6(float(dept_charge.sum())),
                "facility_kwh_unattributed": round6(fac_kwh - attributed),
                "cpu_unserved_core_h": round6(float(pool_totals[3].sum() / HOUR)),
                "datacenters": centres,
                "pools": pools,
                "host_classes": {
                    name: {"it_kwh": round6(self.class_acc[c] / HOUR)}
                    for c, name in enumerate(self.design.class_names)
                },
                "departments": departments,
            }
        }

    def _pool_totals(self) -> FloatArray:
        """Each pool's integrals over the whole run (rate × seconds)."""
        if not self._rows:
            return np.zeros_like(self.pool_acc)
        total: FloatArray = np.sum([p["acc"] for p in self._rows], axis=0)
        return total

    @classmethod
    def terminal_lines(cls, summary: Mapping[str, Any]) -> list[Any]:
        energy = summary.get("energy")
        if not energy:
            return []
        money = energy["currency"]
        table = Table(title="energy and cost (from utilisation)")
        for column in (
            "data centre",
            "CPU util",
            "IT MWh",
            "facility MWh",
            "avg kW",
            "peak kW",
            "PUE",
            f"cost {money}",
        ):
            table.add_column(column, justify="left" if column == "data centre" else "right")
        for name, d in energy["datacenters"].items():
            table.add_row(
                name,
                f"{d['cpu_utilisation_mean']:.1%}",
                f"{d['it_kwh'] / 1000:,.1f}",
                f"{d['facility_kwh'] / 1000:,.1f}",
                f"{d['facility_kw_mean']:,.0f}",
                f"{d['facility_kw_peak']:,.0f}",
                f"{d['pue']:.2f}",
                f"{d['cost']:,.0f}",
            )
        return [
            table,
            f"energy: {energy['facility_kwh'] / 1000:,.1f} MWh at the meter "
            f"({energy['it_kwh'] / 1000:,.1f} MWh IT), "
            f"electricity {energy['electricity_cost']:,.0f} "
            f"+ capital {energy['capital_cost']:,.0f} = {energy['cost']:,.0f} {money}; "
            f"departments charged {energy['chargeback']:,.0f} {money}; "
            f"CPU wanted and not served {energy['cpu_unserved_core_h']:,.1f} core-hours",
        ]


def _section(scenario: Scenario) -> Energy:
    section = scenario.section("energy")
    assert isinstance(section, Energy)
    return section


def _one_hot(index: IntArray | npt.NDArray[np.int32], n: int) -> FloatArray:
    """``(len(index), n)`` matrix with a 1 in column ``index[i]`` of each row ``i``."""
    out = np.zeros((len(index), n))
    out[np.arange(len(index)), index] = 1.0
    return out
