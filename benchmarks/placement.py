"""Placement throughput: the numpy Placer against a plain-Python loop, plus a Hunan year.

Run from the repository root::

    python benchmarks/placement.py [--json PATH] [--requests N] [--sizes 1000,10000,100000]

For each host-table size it builds a platform (three zones, two architectures, two data
centres, five host classes, general/dedicated/standby/container pools, 1 % of hosts down),
a fixed seeded list of mixed requests, and times

* ``numpy``: :meth:`cloudsim.placement.Placer.place` once per request (preset ``spread``),
  on its default path (the compiled kernels when numba is installed, ``cloudsim[fast]``);
  the numpy path's own rate is the ``numpy path`` column (``--no-numpy-path`` skips it);
* ``python``: a plain loop over hosts applying the same filters (up, zone, architecture,
  data centre, pool purpose, capacity per resource), the same least-allocated score with the
  same resource weights, and the same tie rule (ties within 1e-9 drawn from a generator with
  the same seed), so both pick the same hosts.

Before timing, the first ``--verify`` requests are placed by both on fresh tables and the
chosen hosts and their scores are asserted identical (the numpy score comes from
:meth:`Placer.explain`), so the comparison is apples to apples. The plain loop is slow, so it
is timed on at most ``--python-budget`` host visits (requests x hosts) and its rate is per
decision it made; the table says on how many requests each rate was measured.

Building each side from the host table (the :class:`Placer` with its index of the hosts by
static class; the plain loop's Python lists) is outside both timings and printed apart;
everything a request causes (the numpy side's groups of hosts per distinct constraint, made
when first asked for) is inside.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import FLAVOURS, machine, write_json  # noqa: E402
from cloudsim.placement.core import TIE_EPSILON, Placer, Request  # noqa: E402
from cloudsim.scenario.schema import (  # noqa: E402
    RESOURCES,
    DataCenter,
    Department,
    HostClass,
    HostGroup,
    Meta,
    Pool,
    Scenario,
    Site,
    Zone,
)
from cloudsim.state.hosts import PURPOSES, HostTable  # noqa: E402

SEED = 20260101
TARGET_RATE_10K = 20_000.0
TARGET_RATIO_10K = 50.0
TARGET_RATIO_100K = 100.0
TARGET_HUNAN_S = 30.0
DEPARTMENTS = 24
_DEDICATED = PURPOSES.index("dedicated")

HOST_CLASSES = [
    HostClass(name="x86-2x32c", cores=64, memory="1TiB", disk="10TB", network="50Gbps"),
    HostClass(name="x86-2x24c", cores=48, memory="768GiB", disk="8TB", network="50Gbps"),
    HostClass(name="x86-2x16c", cores=32, memory="384GiB", disk="4TB", network="25Gbps"),
    HostClass(
        name="arm-2x48c",
        cores=96,
        threads_per_core=1,
        memory="1TiB",
        disk="10TB",
        network="50Gbps",
        arch="aarch64",
    ),
    HostClass(
        name="arm-2x64c",
        cores=128,
        threads_per_core=1,
        memory="512GiB",
        disk="8TB",
        network="50Gbps",
        arch="aarch64",
    ),
]
#: (zone, share of hosts, cpu overcommit for x86 and arm, memory overcommit)
ZONES = [
    ("extranet", 0.6, 3.0, 2.5, 1.1),
    ("internet", 0.25, 2.5, 2.0, 1.0),
    ("intranet", 0.15, 2.0, 2.0, 1.0),
]
#: (purpose, share of a zone's hosts)
PURPOSE_SHARES = [("general", 0.80), ("dedicated", 0.06), ("standby", 0.08), ("container", 0.06)]


def _split(total: int, shares: list[float]) -> list[int]:
    counts = [int(total * s) for s in shares]
    counts[0] += total - sum(counts)
    return counts


def build_scenario(n_hosts: int) -> Scenario:
    """Two data centres (half the hosts each), three zones, x86 80 % / arm 20 %."""
    pools: list[Pool] = []
    dcs = ["dc-a", "dc-b"]
    for dc, dc_hosts in zip(dcs, _split(n_hosts, [0.5, 0.5]), strict=True):
        for (zone, _, oc_x86, oc_arm, oc_mem), zone_hosts in zip(
            ZONES, _split(dc_hosts, [z[1] for z in ZONES]), strict=True
        ):
            for (purpose, _), n in zip(
                PURPOSE_SHARES, _split(zone_hosts, [p[1] for p in PURPOSE_SHARES]), strict=True
            ):
                if n == 0:
                    continue
                x86, arm = _split(n, [0.8, 0.2])
                x_big, x_mid, x_small = _split(x86, [0.5, 0.3, 0.2])
                a_big, a_dense = _split(arm, [0.6, 0.4])
                groups_x86 = [
                    HostGroup(host_class=c, count=k)
                    for c, k in (("x86-2x32c", x_big), ("x86-2x24c", x_mid), ("x86-2x16c", x_small))
                ]
                groups_arm = [
                    HostGroup(host_class=c, count=k)
                    for c, k in (("arm-2x48c", a_big), ("arm-2x64c", a_dense))
                ]
                dedicated = (
                    f"dept{(len(pools) * 7) % DEPARTMENTS:02d}" if purpose == "dedicated" else None
                )
                for arch, groups, oc in (("x86", groups_x86, oc_x86), ("arm", groups_arm, oc_arm)):
                    if sum(g.count for g in groups) == 0:
                        continue
                    pools.append(
                        Pool(
                            name=f"{dc}-{zone}-{purpose}-{arch}",
                            datacenter=dc,
                            zone=zone,
                            hosts=groups,
                            purpose=purpose,
                            dedicated_to=dedicated,
                            cpu_overcommit=oc,
                            memory_overcommit=oc_mem,
                        )
                    )
    racks = max(1, n_hosts // 2 // 20)
    return Scenario(
        meta=Meta(name=f"bench-{n_hosts}"),
        sites=[Site(name="city")],
        datacenters=[DataCenter(name=dc, site="city", racks=racks) for dc in dcs],
        zones=[Zone(name=z[0]) for z in ZONES],
        host_classes=HOST_CLASSES,
        pools=pools,
        departments=[Department(name=f"dept{i:02d}") for i in range(DEPARTMENTS)],
    )


def build_hosts(scenario: Scenario) -> HostTable:
    hosts = HostTable.from_scenario(scenario)
    down = np.random.default_rng(SEED + 1).choice(hosts.size, size=hosts.size // 100, replace=False)
    hosts.set_up(down, False)
    return hosts


def build_requests(count: int) -> list[Request]:
    """A fixed seeded stream of single-VM requests (no anti-affinity: the plain loop has none)."""
    rng = np.random.default_rng(SEED)
    weights = np.array([f[3] for f in FLAVOURS], dtype=np.float64)
    flavour = rng.choice(len(FLAVOURS), size=count, p=weights / weights.sum())
    zone = rng.choice(len(ZONES), size=count, p=[0.6, 0.25, 0.15])
    arch = rng.choice([0, 1, -1], size=count, p=[0.7, 0.15, 0.15])
    dcs_choice = rng.choice(3, size=count, p=[0.3, 0.3, 0.4])
    department = rng.integers(DEPARTMENTS, size=count)
    requests = []
    for i in range(count):
        vcpus, gib, disk, _ = FLAVOURS[int(flavour[i])]
        demand = np.array([vcpus * 1000, gib * 1024, disk, 0], dtype=np.int64)
        dcs = ((0,), (1,), (0, 1))[int(dcs_choice[i])]
        requests.append(
            Request(
                demand=demand,
                zone=int(zone[i]),
                datacenters=dcs,
                arch=int(arch[i]),
                department=int(department[i]),
            )
        )
    return requests


class PlainPlacer:
    """The reference: one Python loop over hosts per decision, on Python lists."""

    def __init__(self, hosts: HostTable, rng: np.random.Generator, resource_weights: Any) -> None:
        self.rng = rng
        self.up = hosts.up.tolist()
        self.zone = hosts.zone.tolist()
        self.arch = hosts.arch.tolist()
        self.dc = hosts.datacenter.tolist()
        self.purpose = hosts.purpose.tolist()
        self.dedicated_to = hosts.dedicated_to.tolist()
        self.free = [[float(v) for v in row] for row in hosts.free.tolist()]
        self.n = hosts.size
        w = [float(x) for x in resource_weights]
        self.weighted = [r for r in range(len(RESOURCES)) if w[r] > 0]
        self.winv = []
        for r in range(len(RESOURCES)):
            factor = 100.0 * w[r]
            self.winv.append(
                [(1.0 / lim) * factor if lim > 0 else 0.0 for lim in hosts.limit[r].tolist()]
            )

    def place(self, req: Request) -> tuple[int, float]:
        demand = [float(d) for d in req.demand.tolist()]
        needs = [(r, demand[r]) for r in range(len(RESOURCES)) if demand[r] > 0]
        zone, arch, dcs, dept = req.zone, req.arch, req.datacenters, req.department
        purposes = req.purposes
        check_dedicated = _DEDICATED in purposes
        up, zones, arches, dc, purpose, ded = (
            self.up,
            self.zone,
            self.arch,
            self.dc,
            self.purpose,
            self.dedicated_to,
        )
        free, winv, weighted = self.free, self.winv, self.weighted
        cand: list[int] = []
        scores: list[float] = []
        for h in range(self.n):
            if not up[h] or zones[h] != zone:
                continue
            if arch >= 0 and arches[h] != arch:
                continue
            if dc[h] not in dcs:
                continue
            p = purpose[h]
            if p not in purposes or (check_dedicated and p == _DEDICATED and ded[h] != dept):
                continue
            ok = True
            for r, need in needs:
                if free[r][h] < need:
                    ok = False
                    break
            if not ok:
                continue
            score = 0.0
            first = True
            for r in weighted:
                term = (free[r][h] - demand[r]) * winv[r][h]
                if first:
                    score = term
                    first = False
                else:
                    score = score + term
            cand.append(h)
            scores.append(score)
        if not cand:
            return -1, float("nan")
        best = max(scores)
        ties = [h for h, s in zip(cand, scores, strict=True) if s >= best - TIE_EPSILON]
        host = ties[0] if len(ties) == 1 else ties[int(self.rng.integers(len(ties)))]
        for r in range(len(RESOURCES)):
            free[r][host] -= demand[r]
        return host, best


@dataclass
class SizeResult:
    hosts: int
    requests: int
    numpy_rate: float  # over all requests
    numpy_placed: int
    python_requests: int
    numpy_rate_subset: float  # over the first python_requests, the plain loop's work
    python_rate: float
    verified: int
    kernel: str  # the default path's
    numpy_path_rate: float | None  # the numpy path over all requests
    numpy_setup_s: float  # building the Placer (its host index), not in either rate
    python_setup_s: float  # building the plain loop's lists, not in either rate

    @property
    def ratio(self) -> float:
        """Same requests on both sides."""
        return self.numpy_rate_subset / self.python_rate


def verify(scenario: Scenario, requests: list[Request], count: int, kernel: str = "auto") -> int:
    """Both placers on fresh tables: same host and identical score for every request."""
    hosts = build_hosts(scenario)
    placer = Placer(hosts, np.random.default_rng(SEED), preset="spread", kernel=kernel)
    plain = PlainPlacer(build_hosts(scenario), np.random.default_rng(SEED), placer.resource_weights)
    for i, req in enumerate(requests[:count]):
        explanation = placer.explain(req)
        host = placer.place(req)
        ref_host, ref_score = plain.place(req)
        assert host == ref_host, f"request {i}: numpy chose {host}, python {ref_host}"
        if host >= 0:
            assert explanation.score == ref_score, (
                f"request {i}: numpy score {explanation.score!r}, python {ref_score!r}"
            )
    return min(count, len(requests))


def time_numpy(
    scenario: Scenario, requests: list[Request], split: int, kernel: str = "auto"
) -> tuple[float, float, int, float]:
    """(seconds for all requests, seconds for the first ``split``, VMs placed, seconds to
    build the placer)."""
    hosts = build_hosts(scenario)
    clock = time.perf_counter
    start = clock()
    place = Placer(hosts, np.random.default_rng(SEED), preset="spread", kernel=kernel).place
    setup = clock() - start
    placed = 0
    start = clock()
    for req in requests[:split]:
        placed += place(req) >= 0
    first = clock() - start
    for req in requests[split:]:
        placed += place(req) >= 0
    return clock() - start, first, placed, setup


def time_python(scenario: Scenario, requests: list[Request], weights: Any) -> tuple[float, float]:
    """(seconds for ``requests``, seconds to build the plain placer's lists)."""
    hosts = build_hosts(scenario)
    start = time.perf_counter()
    plain = PlainPlacer(hosts, np.random.default_rng(SEED), weights)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    for req in requests:
        plain.place(req)
    return time.perf_counter() - start, setup


def run_size(
    n_hosts: int,
    requests: list[Request],
    verify_count: int,
    budget: float,
    repeats: int,
    numpy_path: bool,
) -> SizeResult:
    scenario = build_scenario(n_hosts)
    verified = verify(scenario, requests, verify_count)
    py_count = max(1, min(len(requests), int(budget // n_hosts)))
    default = Placer(build_hosts(scenario), np.random.default_rng(SEED), preset="spread")
    weights = default.resource_weights
    numpy_runs = [time_numpy(scenario, requests, py_count) for _ in range(repeats)]
    numpy_path_rate = None
    if numpy_path and default.kernel != "numpy":
        verify(scenario, requests, verify_count, kernel="numpy")
        seconds = min(
            time_numpy(scenario, requests, py_count, kernel="numpy")[0] for _ in range(repeats)
        )
        numpy_path_rate = len(requests) / seconds
    python_runs = [time_python(scenario, requests[:py_count], weights) for _ in range(repeats)]
    python_times = [run[0] for run in python_runs]
    return SizeResult(
        hosts=n_hosts,
        requests=len(requests),
        numpy_rate=len(requests) / min(run[0] for run in numpy_runs),
        numpy_placed=numpy_runs[0][2],
        python_requests=py_count,
        numpy_rate_subset=py_count / min(run[1] for run in numpy_runs),
        python_rate=py_count / min(python_times),
        verified=verified,
        kernel=default.kernel,
        numpy_path_rate=numpy_path_rate,
        numpy_setup_s=min(run[3] for run in numpy_runs),
        python_setup_s=min(run[1] for run in python_runs),
    )


def time_hunan(repeats: int) -> float:
    from cloudsim import load_scenario, simulate

    scenario = load_scenario(str(ROOT / "scenarios" / "hunan-3s4c.yaml"))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        simulate(scenario, seed=7)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--verify", type=int, default=200, help="requests checked identical")
    parser.add_argument(
        "--python-budget",
        type=float,
        default=2e7,
        help="host visits (requests x hosts) the plain loop is timed on",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timings are the best of these")
    parser.add_argument("--hunan-repeats", type=int, default=3, help="0 to skip")
    parser.add_argument(
        "--no-numpy-path",
        action="store_true",
        help="do not also time the numpy path when the compiled one is the default",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    requests = build_requests(args.requests)

    results = []
    for n in sizes:
        results.append(
            run_size(
                n, requests, args.verify, args.python_budget, args.repeats, not args.no_numpy_path
            )
        )
        print(f"  done {n} hosts", file=sys.stderr, flush=True)
    hunan = time_hunan(args.hunan_repeats) if args.hunan_repeats > 0 else None

    print(
        f"placement: {args.requests} requests, preset spread, seed {SEED}, "
        f"best of {args.repeats} runs, placer path: {results[0].kernel if results else '-'}"
    )
    header = (
        f"{'hosts':>8} {'numpy dec/s':>12} {'placed':>7} {'python dec/s':>13} "
        f"{'on first N':>11} {'numpy on N':>11} {'ratio':>7} {'verified':>9} "
        f"{'numpy path':>11}"
    )
    print(header)
    for r in results:
        path = "-" if r.numpy_path_rate is None else f"{r.numpy_path_rate:,.0f}"
        print(
            f"{r.hosts:>8} {r.numpy_rate:>12,.0f} {r.numpy_placed:>7} {r.python_rate:>13,.1f} "
            f"{r.python_requests:>11} {r.numpy_rate_subset:>11,.0f} {r.ratio:>6,.0f}x "
            f"{r.verified:>9} {path:>11}"
        )
    if any(r.python_requests < r.requests for r in results):
        print(
            "  the plain loop is timed on the first N requests only (too slow for all, about "
            f"{args.python_budget:,.0f} host visits); ratio = numpy on those same N / python"
        )
    print(
        f"  verified: both placers chose the same host with an identical score on the first "
        f"{args.verify} requests"
    )
    print(
        "  set-up, timed in neither rate (each side builds its structures from the host "
        "table once): "
        + ", ".join(
            f"{r.hosts} hosts: placer {r.numpy_setup_s * 1e3:,.1f} ms, "
            f"plain loop {r.python_setup_s * 1e3:,.1f} ms"
            for r in results
        )
    )
    checks: dict[str, dict[str, Any]] = {}
    at_10k = next((r for r in results if r.hosts == 10_000), None)
    if at_10k is not None:
        checks["rate_10k"] = {
            "value": at_10k.numpy_rate,
            "target": TARGET_RATE_10K,
            "pass": at_10k.numpy_rate >= TARGET_RATE_10K,
        }
        checks["ratio_10k"] = {
            "value": at_10k.ratio,
            "target": TARGET_RATIO_10K,
            "pass": at_10k.ratio >= TARGET_RATIO_10K,
        }
    at_100k = next((r for r in results if r.hosts == 100_000), None)
    if at_100k is not None:
        checks["ratio_100k"] = {
            "value": at_100k.ratio,
            "target": TARGET_RATIO_100K,
            "pass": at_100k.ratio >= TARGET_RATIO_100K,
        }
    if hunan is not None:
        print(f"hunan-3s4c one year (seed 7), best of {args.hunan_repeats}: {hunan:.2f} s")
        checks["hunan_year_s"] = {
            "value": hunan,
            "target": TARGET_HUNAN_S,
            "pass": hunan < TARGET_HUNAN_S,
        }
    labels = {
        "rate_10k": f">= {TARGET_RATE_10K:,.0f} decisions/s at 10k hosts",
        "ratio_10k": f">= {TARGET_RATIO_10K:.0f}x the plain loop at 10k hosts",
        "ratio_100k": f">= {TARGET_RATIO_100K:.0f}x the plain loop at 100k hosts",
        "hunan_year_s": f"Hunan year < {TARGET_HUNAN_S:.0f} s",
    }
    for key, check in checks.items():
        verdict = "PASS" if check["pass"] else "FAIL"
        print(f"  {verdict}  {labels[key]} (measured {check['value']:,.2f})")

    if args.json is not None:
        record = {
            "requests": args.requests,
            "seed": SEED,
            "preset": "spread",
            "sizes": [
                {
                    "hosts": r.hosts,
                    "requests": r.requests,
                    "numpy_decisions_per_s": r.numpy_rate,
                    "numpy_placed": r.numpy_placed,
                    "python_decisions_per_s": r.python_rate,
                    "python_requests_timed": r.python_requests,
                    "numpy_decisions_per_s_on_those": r.numpy_rate_subset,
                    "ratio": r.ratio,
                    "verified_identical": r.verified,
                    "kernel": r.kernel,
                    "numpy_path_decisions_per_s": r.numpy_path_rate,
                    "numpy_setup_s": r.numpy_setup_s,
                    "python_setup_s": r.python_setup_s,
                }
                for r in results
            ],
            "hunan_year_s": hunan,
            "hunan_repeats": args.hunan_repeats,
            "repeats": args.repeats,
            "python_budget_host_visits": args.python_budget,
            "checks": checks,
            "machine": machine(),
        }
        write_json(args.json, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
