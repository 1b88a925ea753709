"""Scale: hosts and cloud hosts placed and simulated for a month of requests, 1k to 1M hosts.

Run from the repository root::

    python benchmarks/scale.py [--sizes 1000,10000,100000,1000000] [--vms-per-host 10]
                               [--days 30] [--json PATH]

Each size runs in a fresh process (so peak memory is its own) and goes through:

1. **build**: a platform of data centres of 5,000 hosts each (three zones 60/25/15 %, x86
   80 % / arm 20 %, one general pool per centre, zone and architecture) as a
   :class:`~cloudsim.state.hosts.HostTable` from a validated scenario;
2. **initial**: ``vms-per-host x hosts`` cloud hosts placed at time 0 with
   :meth:`~cloudsim.placement.Placer.place_batch` (preset ``spread``), in orders of 1 to 40
   identical VMs each in one centre and zone;
3. **month**: ``days`` of requests replayed by one simpy process: orders arrive as a
   Poisson stream (drawn by :func:`cloudsim.iaas.requests.arrival_times`) at the rate that
   keeps the population steady with a mean lifetime of a year, each VM (initial or new)
   leaves at its own exponential end; an order is all-or-nothing (rolled back when a VM of
   it does not fit).

Per-VM state is a few numpy columns (host, flavour, end time), preallocated for every VM
the run can create; departures are one sorted array merged with the arrivals, so nothing
per VM is a Python object. Memory per host is the resident-set growth of step 1 over the
hosts; per VM, that of steps 2-3 over the VMs (both include the placer's caches). The
table gives wall time per step and its growth from one size to the next.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import FLAVOURS, machine, write_json  # noqa: E402

SEED = 20261205
HOSTS_PER_DC = 5_000
#: (zone, share of a centre's hosts)
ZONES = (("extranet", 0.60), ("internet", 0.25), ("intranet", 0.15))
MAX_ORDER = 40  # VMs in one initial order (uniform 1..MAX_ORDER)
MAX_REQUEST = 4  # VMs in one request of the month
LIFETIME_DAYS = 365.0
TARGET_SECONDS = 15 * 60
TARGET_GIB = 24.0


def rss_bytes() -> int:
    """Current resident set size (Linux: /proc/self/statm)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def build_scenario(n_hosts: int) -> Any:
    from cloudsim.scenario.schema import (
        DataCenter,
        HostClass,
        HostGroup,
        Meta,
        Pool,
        Scenario,
        Site,
        Zone,
    )

    centres = max(1, -(-n_hosts // HOSTS_PER_DC))
    per_dc = [n_hosts // centres + (1 if i < n_hosts % centres else 0) for i in range(centres)]
    pools = []
    for c, dc_hosts in enumerate(per_dc):
        zone_counts = [int(dc_hosts * share) for _, share in ZONES]
        zone_counts[0] += dc_hosts - sum(zone_counts)
        for (zone, _), z_hosts in zip(ZONES, zone_counts, strict=True):
            arm = z_hosts // 5
            for arch, count, host_class, overcommit in (
                ("x86", z_hosts - arm, "x86-2x32c", 3.0),
                ("arm", arm, "arm-2x64c", 2.0),
            ):
                if count:
                    pools.append(
                        Pool(
                            name=f"dc{c:03d}-{zone}-{arch}",
                            datacenter=f"dc{c:03d}",
                            zone=zone,
                            hosts=[HostGroup(host_class=host_class, count=count)],
                            cpu_overcommit=overcommit,
                            memory_overcommit=1.2,
                        )
                    )
    return Scenario(
        meta=Meta(name=f"scale-{n_hosts}"),
        sites=[Site(name="province")],
        datacenters=[
            DataCenter(name=f"dc{c:03d}", site="province", racks=max(2, n // 40))
            for c, n in enumerate(per_dc)
        ],
        zones=[Zone(name=z) for z, _ in ZONES],
        host_classes=[
            HostClass(name="x86-2x32c", cores=64, memory="1TiB", disk="20TB"),
            HostClass(
                name="arm-2x64c",
                cores=128,
                threads_per_core=1,
                memory="1TiB",
                disk="20TB",
                arch="aarch64",
            ),
        ],
        pools=pools,
    )


#: VMs a generated system declares (the last one of a pool takes the rest).
VMS_PER_SYSTEM = 1_000
DEPARTMENTS = 100


def engine_scenario(n_hosts: int, vms_per_host: int, days: float) -> Any:
    """The same platform as a whole scenario for :class:`~cloudsim.engine.Simulation`:
    ``vms_per_host x hosts`` cloud hosts declared by systems of about
    :data:`VMS_PER_SYSTEM` each (one pool each, flavours drawn from the benchmark mix,
    no anti-affinity, as the harness), and requests for 1 to :data:`MAX_REQUEST` VMs at the
    rate that replaces a year's lifetime of the population (mean lifetime a year)."""
    from cloudsim.scenario.schema import (
        BatchSize,
        Department,
        ExponentialLifetime,
        Flavor,
        Meta,
        Scenario,
        System,
        VMGroup,
        Workload,
    )
    from cloudsim.units import DAY

    base = build_scenario(n_hosts)
    rng = np.random.default_rng(SEED)
    weights = np.array([f[3] for f in FLAVOURS], dtype=np.float64)
    flavors = [
        Flavor(name=f"f{i}-{v}c{g}g", vcpus=v, memory=g * 1024, disk=d)
        for i, (v, g, d, _) in enumerate(FLAVOURS)
    ]
    departments = [Department(name=f"dept{d:03d}") for d in range(DEPARTMENTS)]
    vms = vms_per_host * n_hosts
    systems = []
    for pool in base.pools:
        share = vms * pool.host_count // n_hosts
        n_systems = max(1, share // VMS_PER_SYSTEM)
        for j in range(n_systems):
            count = share // n_systems + (1 if j < share % n_systems else 0)
            per_flavor = rng.multinomial(count, weights / weights.sum())
            k = len(systems)
            systems.append(
                System(
                    name=f"sys{k:06d}",
                    department=departments[k % DEPARTMENTS].name,
                    zone=pool.zone,
                    arch="aarch64" if pool.name.endswith("-arm") else "x86_64",
                    datacenters=[pool.datacenter],
                    anti_affinity="none",
                    vms=[
                        VMGroup(flavor=flavors[f].name, count=int(c))
                        for f, c in enumerate(per_flavor)
                        if c
                    ]
                    or [VMGroup(flavor=flavors[0].name, count=0)],
                )
            )
    return Scenario.model_validate(
        {
            **base.model_dump(),
            "meta": Meta(name=base.meta.name, horizon=days * DAY, seed=SEED),
            "flavors": flavors,
            "departments": departments,
            "systems": systems,
            "workload": Workload(
                arrivals_per_day=vms / LIFETIME_DAYS / ((1 + MAX_REQUEST) / 2),
                lifetime=ExponentialLifetime(distribution="exponential", mean=LIFETIME_DAYS * DAY),
                batch=BatchSize(min=1, max=MAX_REQUEST),
            ),
        }
    )


def write_scenario(path: Path, scenario: Any) -> None:
    """``scenario`` as a YAML file ``cloudsim run`` loads (and validates) again."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(scenario.dump(), sort_keys=False), encoding="utf-8")
    print(f"wrote {path} ({scenario.host_count:,} hosts, {len(scenario.systems):,} systems)")


def run_engine(n_hosts: int, vms_per_host: int, days: float, out: Path | None) -> dict[str, Any]:
    """One size through the product's engine in this process: the scenario, the world and
    the kernel (``build``), the initial placement (``initial``), the month (``month``), the
    results (``results``) and, with ``out``, the run's folder (``write``)."""
    from cloudsim.engine import Simulation
    from cloudsim.results import assemble

    base = rss_bytes()
    t0 = time.perf_counter()
    scenario = engine_scenario(n_hosts, vms_per_host, days)
    scenario_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim = Simulation(scenario)
    build_s = time.perf_counter() - t0
    after_build = rss_bytes()
    t0 = time.perf_counter()
    sim.start()
    initial_s = time.perf_counter() - t0
    after_initial = rss_bytes()
    t0 = time.perf_counter()
    sim.kernel.run()
    month_s = time.perf_counter() - t0
    after_month = rss_bytes()
    t0 = time.perf_counter()
    result = assemble(sim.kernel)
    results_s = time.perf_counter() - t0
    write_s = 0.0
    if out is not None:
        t0 = time.perf_counter()
        result.write(out)
        write_s = time.perf_counter() - t0
    after_results = rss_bytes()

    vms = sim.platform.vms
    hosts = sim.hosts
    live = np.flatnonzero(vms.live)
    allocated = hosts.limit - hosts.free
    assert (hosts.free >= 0).all(), "a host holds more than its limit"
    for r in range(vms.demand.shape[0]):
        expected = np.bincount(
            vms.ints["host"][live], weights=vms.demand[r, live], minlength=hosts.size
        ).astype(np.int64)
        assert np.array_equal(allocated[r], expected), "allocations differ from the VMs' sum"
    summary = result.summary
    created = vms.next_id
    assert result.tables["vms"].num_rows == created
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "path": "engine",
        "hosts": n_hosts,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "datacenters": len(scenario.datacenters),
        "systems": len(scenario.systems),
        "placer_path": sim.placer.kernel,
        "vms_initial": summary["vms_initial"] + summary["vms_initial_unplaced"],
        "vms_initial_placed": summary["vms_initial"],
        "vms_requested": summary["vms_requested"],
        "vms_placed_month": summary["vms_placed"],
        "vms_rejected_month": summary["vms_rejected"],
        "vms_departed": summary["vms_deleted"],
        "vms_live_end": summary["vms_end"],
        "vms_total_rows": created,
        "events": result.tables["events"].num_rows,
        "events_processed": summary["events_processed"],
        "days": days,
        "scenario_s": scenario_s,
        "build_s": build_s,
        "initial_s": initial_s,
        "month_s": month_s,
        "results_s": results_s,
        "write_s": write_s,
        "total_s": scenario_s + build_s + initial_s + month_s + results_s + write_s,
        "rss_build_bytes": after_build - base,
        "rss_initial_bytes": after_initial - after_build,
        "rss_month_bytes": after_month - after_initial,
        "rss_results_bytes": after_results - after_month,
        "peak_rss_bytes": peak_rss_bytes(),
        "bytes_per_host": (after_build - base) / n_hosts,
        "bytes_per_vm": (after_month - after_build) / created,
        "vm_table_bytes_per_vm": (
            sum(a.nbytes for a in (vms.demand, vms.live))
            + sum(a.nbytes for a in vms.ints.values())
            + sum(a.nbytes for a in vms.floats.values())
        )
        / created,
    }


class Workload:
    """Every order of the run as columns: the initial ones, then the month's requests."""

    def __init__(self, n_hosts: int, centres: int, vms: int, days: float) -> None:
        from cloudsim.iaas.requests import arrival_times
        from cloudsim.units import DAY

        rng = np.random.default_rng(SEED)
        weights = np.array([f[3] for f in FLAVOURS], dtype=np.float64)
        p_flavour = weights / weights.sum()
        p_zone = [share for _, share in ZONES]
        # initial orders until ``vms`` VMs
        sizes = rng.integers(1, MAX_ORDER + 1, size=2 * vms // MAX_ORDER + 16)
        cut = int(np.searchsorted(np.cumsum(sizes), vms))
        sizes = sizes[: cut + 1].copy()
        sizes[-1] -= int(sizes.sum()) - vms
        sizes = sizes[sizes > 0]
        # the month's requests: a steady population (arrivals = departures on average)
        per_day = vms / LIFETIME_DAYS / ((1 + MAX_REQUEST) / 2)
        self.arrival = arrival_times(per_day, 0.0, days * DAY, rng)
        req_sizes = rng.integers(1, MAX_REQUEST + 1, size=self.arrival.size)
        self.initial_orders = sizes.size
        self.count = np.concatenate([sizes, req_sizes]).astype(np.int64)
        orders = self.count.size
        self.flavour = rng.choice(len(FLAVOURS), size=orders, p=p_flavour).astype(np.int16)
        self.centre = rng.integers(centres, size=orders).astype(np.int32)
        self.zone = rng.choice(len(ZONES), size=orders, p=p_zone).astype(np.int8)
        self.arch = rng.choice([0, 1, -1], size=orders, p=[0.7, 0.15, 0.15]).astype(np.int8)
        # each VM's lifetime (from its order's time)
        self.first_vm = np.concatenate([[0], np.cumsum(self.count)[:-1]]).astype(np.int64)
        self.total_vms = int(self.count.sum())
        self.lifetime = rng.exponential(LIFETIME_DAYS * DAY, size=self.total_vms)
        self.n_hosts = n_hosts


def run_harness(n_hosts: int, vms_per_host: int, days: float) -> dict[str, Any]:
    """The harness (no engine): all three steps for one size in this process; figures as a
    dict."""
    import simpy

    from cloudsim.placement.core import Placer, Request
    from cloudsim.state.hosts import HostTable
    from cloudsim.units import DAY

    base = rss_bytes()
    t0 = time.perf_counter()
    scenario = build_scenario(n_hosts)
    hosts = HostTable.from_scenario(scenario)
    placer = Placer(hosts, np.random.default_rng(SEED + 1), preset="spread")
    build_s = time.perf_counter() - t0
    after_build = rss_bytes()

    vms = vms_per_host * n_hosts
    work = Workload(n_hosts, len(scenario.datacenters), vms, days)
    demand = np.array(
        [[f[0] * 1000 for f in FLAVOURS], [f[1] * 1024 for f in FLAVOURS],
         [f[2] for f in FLAVOURS], [0] * len(FLAVOURS)],
        dtype=np.int64,
    )  # fmt: skip
    flavour_demand = [np.ascontiguousarray(demand[:, f]) for f in range(len(FLAVOURS))]
    # per-VM columns for every VM the run can create: host (-1: never placed), flavour
    vm_host = np.full(work.total_vms, -1, dtype=np.int32)
    vm_flavour = np.repeat(work.flavour, work.count)
    vm_end = np.empty(work.total_vms)
    requests: dict[tuple[int, int, int, int], Request] = {}

    def request_of(order: int) -> Request:
        key = (
            int(work.flavour[order]),
            int(work.centre[order]),
            int(work.zone[order]),
            int(work.arch[order]),
        )
        req = requests.get(key)
        if req is None:
            req = Request(
                demand=flavour_demand[key[0]],
                zone=key[2],
                datacenters=(key[1],),
                arch=key[3],
            )
            requests[key] = req
        return req

    # -- initial placement ------------------------------------------------------------
    t0 = time.perf_counter()
    unplaced = 0
    for order in range(work.initial_orders):
        count = int(work.count[order])
        placed = placer.place_batch(request_of(order), count)
        first = int(work.first_vm[order])
        vm_host[first : first + count] = placed
        unplaced += placed.count(-1)
    n0 = int(work.count[: work.initial_orders].sum())
    vm_end[:n0] = work.lifetime[:n0]
    initial_s = time.perf_counter() - t0
    initial_placed = n0 - unplaced
    after_initial = rss_bytes()

    # -- a month of requests ----------------------------------------------------------
    horizon = days * DAY
    arrival_vm_start = work.first_vm[work.initial_orders :]
    order_time = work.arrival
    for k in range(order_time.size):
        a = int(arrival_vm_start[k])
        c = int(work.count[work.initial_orders + k])
        vm_end[a : a + c] = order_time[k] + work.lifetime[a : a + c]
    departing = np.flatnonzero(vm_end < horizon)
    departing = departing[np.argsort(vm_end[departing], kind="stable")]
    counters = {"requested": 0, "placed": 0, "rejected": 0, "departed": 0, "events": 0}

    def month(env: simpy.Environment) -> Any:
        i_arr = 0
        i_dep = 0
        n_arr = order_time.size
        n_dep = departing.size
        while i_arr < n_arr or i_dep < n_dep:
            t_arr = order_time[i_arr] if i_arr < n_arr else np.inf
            t_dep = vm_end[departing[i_dep]] if i_dep < n_dep else np.inf
            t = min(t_arr, t_dep)
            if t >= horizon:
                return
            if t > env.now:
                yield env.timeout(t - env.now)
            counters["events"] += 1
            if t_dep <= t_arr:  # departures first on ties, as the IaaS module
                vm = int(departing[i_dep])
                i_dep += 1
                host = int(vm_host[vm])
                if host >= 0:
                    placer.release(host, flavour_demand[vm_flavour[vm]])
                    vm_host[vm] = -1
                    counters["departed"] += 1
                continue
            order = work.initial_orders + i_arr
            i_arr += 1
            count = int(work.count[order])
            req = request_of(order)
            counters["requested"] += count
            placed = placer.place_batch(req, count)
            if placed[-1] < 0:  # all or nothing
                for host in placed:
                    if host >= 0:
                        placer.release(host, req.demand)
                counters["rejected"] += count
                continue
            first = int(work.first_vm[order])
            vm_host[first : first + count] = placed
            counters["placed"] += count

    t0 = time.perf_counter()
    env = simpy.Environment()
    env.process(month(env))
    env.run()
    month_s = time.perf_counter() - t0
    after_month = rss_bytes()

    live = int(np.count_nonzero(vm_host >= 0))
    allocated = hosts.limit - hosts.free
    assert (hosts.free >= 0).all(), "a host holds more than its limit"
    expected = np.zeros_like(allocated)
    on = vm_host >= 0
    for r in range(demand.shape[0]):
        expected[r] = np.bincount(
            vm_host[on], weights=demand[r][vm_flavour[on]], minlength=n_hosts
        ).astype(np.int64)
    assert np.array_equal(allocated, expected), "allocations differ from the VMs' sum"
    vm_state_bytes = vm_host.nbytes + vm_flavour.nbytes + vm_end.nbytes
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "path": "harness",
        "hosts": n_hosts,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "datacenters": len(scenario.datacenters),
        "placer_path": placer.kernel,
        "vms_initial": n0,
        "vms_initial_placed": initial_placed,
        "vms_requested": counters["requested"],
        "vms_placed_month": counters["placed"],
        "vms_rejected_month": counters["rejected"],
        "vms_departed": counters["departed"],
        "vms_live_end": live,
        "vms_total_rows": work.total_vms,
        "month_events": counters["events"],
        "days": days,
        "build_s": build_s,
        "initial_s": initial_s,
        "month_s": month_s,
        "total_s": build_s + initial_s + month_s,
        "initial_decisions_per_s": n0 / initial_s if initial_s else None,
        "rss_build_bytes": after_build - base,
        "rss_vms_bytes": after_month - after_build,
        "rss_initial_bytes": after_initial - after_build,
        "peak_rss_bytes": peak_rss_bytes(),
        "bytes_per_host": (after_build - base) / n_hosts,
        "bytes_per_vm": (after_month - after_build) / work.total_vms,
        "vm_columns_bytes_per_vm": vm_state_bytes / work.total_vms,
        "host_table_bytes_per_host": sum(
            value.nbytes for value in vars(hosts).values() if isinstance(value, np.ndarray)
        )
        / n_hosts,
    }


def _child(path: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run one size on one path in a fresh process (its peak memory is its own)."""
    cmd = [
        sys.executable, __file__, "--one", str(n), "--path", path, "--vms-per-host",
        str(args.vms_per_host), "--days", str(args.days),
    ]  # fmt: skip
    if not args.write:
        cmd.append("--no-write")
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise RuntimeError(f"scale: the {path} run with {n:,} hosts failed")
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row["process_s"] = time.perf_counter() - start
    print(f"  done {n:,} hosts ({path}) in {row['process_s']:.1f} s", file=sys.stderr, flush=True)
    return row


def _one(path: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    if path == "harness":
        return run_harness(n, args.vms_per_host, args.days)
    if not args.write:
        return run_engine(n, args.vms_per_host, args.days, None)
    with tempfile.TemporaryDirectory(prefix="cloudsim-scale-") as tmp:
        out = Path(tmp) / "run"
        row = run_engine(n, args.vms_per_host, args.days, out)
        row["results_folder_bytes"] = sum(f.stat().st_size for f in out.iterdir())
        return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--vms-per-host", type=int, default=10)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument(
        "--path",
        choices=("engine", "harness", "both"),
        default="engine",
        help="the product's engine (Simulation, results, Parquet), the bare harness, or both",
    )
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="skip writing the run's folder"
    )
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    parser.add_argument(
        "--write-scenario",
        metavar="PATH",
        default=None,
        help="write each size's engine scenario as YAML for `cloudsim run` (PATH may hold "
        "{hosts}) and run nothing",
    )
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.vms_per_host < 1 or args.days <= 0:
        parser.error("--vms-per-host must be >= 1 and --days > 0")
    if args.one is not None:
        if args.path == "both":
            parser.error("--one runs one path: engine or harness")
        print(json.dumps(_one(args.path, args.one, args)))
        return 0
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes: expected host counts separated by commas, got {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes: expected positive host counts")
    if args.write_scenario is not None:
        if len(sizes) > 1 and "{hosts}" not in args.write_scenario:
            parser.error("--write-scenario: several sizes need {hosts} in the path")
        for n in sizes:
            write_scenario(
                Path(args.write_scenario.replace("{hosts}", str(n))),
                engine_scenario(n, args.vms_per_host, args.days),
            )
        return 0

    paths = ("engine", "harness") if args.path == "both" else (args.path,)
    runs: dict[str, list[dict[str, Any]]] = {p: [] for p in paths}
    try:
        for n in sizes:
            for path in paths:  # one at a time: never two large runs side by side
                runs[path].append(_child(path, n, args))
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1

    gib = 1024**3
    print(
        f"scale: {args.vms_per_host} VMs per host placed at time 0, then {args.days:g} days of "
        f"requests (1-{MAX_REQUEST} VMs each, mean lifetime {LIFETIME_DAYS:g} d); preset "
        f"spread, placer path {runs[paths[0]][0]['placer_path']}"
    )
    if "engine" in runs:
        _engine_table(runs["engine"], runs.get("harness"), gib)
    if "harness" in runs:
        _harness_table(runs["harness"], gib)
    checks: dict[str, Any] = {}
    for path, rows in runs.items():
        largest = rows[-1]
        if largest["hosts"] < 1_000_000:
            continue
        for key, value, target, label in (
            ("s", largest["process_s"], TARGET_SECONDS, f"within {TARGET_SECONDS // 60} min"),
            ("gib", largest["peak_rss_bytes"] / gib, TARGET_GIB, f"peak within {TARGET_GIB:g} GiB"),
        ):
            ok = value <= target
            checks[f"{path}_million_hosts_{key}"] = {"value": value, "target": target, "pass": ok}
            print(
                f"  {'PASS' if ok else 'FAIL'}  {path}: {largest['hosts']:,} hosts, "
                f"{largest['vms_total_rows']:,} VMs {label} (measured {value:,.2f})"
            )
    if args.json is not None:
        write_json(
            args.json,
            {
                "seed": SEED,
                "vms_per_host": args.vms_per_host,
                "days": args.days,
                "lifetime_days": LIFETIME_DAYS,
                "write": args.write,
                "sizes": runs.get("engine", runs.get("harness")),
                "runs": runs,
                "checks": checks,
                "machine": machine(),
            },
        )
    return 0


def _engine_table(
    rows: list[dict[str, Any]], harness: list[dict[str, Any]] | None, gib: int
) -> None:
    print(
        "engine: Simulation(scenario) -> start -> run -> results -> folder written "
        "(what `cloudsim run` does)"
    )
    print(
        f"{'hosts':>9} {'VMs':>11} {'events':>11} {'build s':>8} {'initial s':>10} "
        f"{'month s':>8} {'results s':>9} {'write s':>8} {'total s':>8} {'growth':>7} "
        f"{'CPU s':>7} {'B/host':>7} {'B/VM':>6} {'peak GiB':>9}"
        + (f" {'harness s':>9}" if harness else "")
    )
    previous: dict[str, Any] | None = None
    for k, r in enumerate(rows):
        growth = "-" if previous is None else f"{r['total_s'] / previous['total_s']:.1f}x"
        print(
            f"{r['hosts']:>9,} {r['vms_total_rows']:>11,} {r['events']:>11,} "
            f"{r['scenario_s'] + r['build_s']:>8.1f} {r['initial_s']:>10.1f} "
            f"{r['month_s']:>8.1f} {r['results_s']:>9.1f} {r['write_s']:>8.1f} "
            f"{r['total_s']:>8.1f} {growth:>7} {r['cpu_s']:>7.1f} {r['bytes_per_host']:>7,.0f} "
            f"{r['bytes_per_vm']:>6,.0f} {r['peak_rss_bytes'] / gib:>9.2f}"
            + (f" {harness[k]['total_s']:>9.1f}" if harness else "")
        )
        previous = r
    print(
        "  build: scenario, world and kernel; initial: every system's cloud hosts placed at "
        "time 0; month: the requests, departures and hourly samples; results: the tables and "
        "summary; write: the Parquet folder. B/host: memory growth of building over the hosts; "
        "B/VM: that of placing and simulating over every VM created (results not included: "
        "see peak); growth: total over the previous size's; CPU s: the process's user + system "
        "time (the machine is shared: wall > CPU when busy)"
    )


def _harness_table(rows: list[dict[str, Any]], gib: int) -> None:
    print("harness: the placer driven by its own simpy process (no engine, no results)")
    print(
        f"{'hosts':>9} {'VMs':>11} {'build s':>8} {'initial s':>10} {'month s':>8} "
        f"{'events':>9} {'total s':>8} {'growth':>7} {'CPU s':>7} {'B/host':>7} {'B/VM':>6} "
        f"{'peak GiB':>9}"
    )
    previous: dict[str, Any] | None = None
    for r in rows:
        growth = "-" if previous is None else f"{r['total_s'] / previous['total_s']:.1f}x"
        print(
            f"{r['hosts']:>9,} {r['vms_total_rows']:>11,} {r['build_s']:>8.1f} "
            f"{r['initial_s']:>10.1f} {r['month_s']:>8.1f} {r['month_events']:>9,} "
            f"{r['total_s']:>8.1f} {growth:>7} {r['cpu_s']:>7.1f} {r['bytes_per_host']:>7,.0f} "
            f"{r['bytes_per_vm']:>6,.0f} {r['peak_rss_bytes'] / gib:>9.2f}"
        )
        previous = r


if __name__ == "__main__":
    raise SystemExit(main())
