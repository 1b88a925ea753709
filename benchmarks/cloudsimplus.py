"""Placement side by side with CloudSim Plus (FirstFit): 20,000 hosts, 40,000 VMs.

Run from the repository root::

    python benchmarks/cloudsimplus.py [--hosts 20000] [--vms 40000] [--gap 60]
                                      [--repeats 3] [--json PATH]

cloudsim's side always runs: the workload of ``benchmarks/peers/README.md`` placed at time
0 (one :meth:`~cloudsim.placement.Placer.place` per VM) and the same VMs arriving one by
one (a simpy process waiting for each arrival, as the IaaS module replays requests).
CloudSim Plus runs when ``CLOUDSIM_PLUS_CLASSPATH`` is set (see that README for building it
with ``javac``): the driver kept in the README is compiled at run time into a temporary
folder and run once per shape; the ratios are cloudsim's wall time over CloudSim Plus's
(below 1: cloudsim is faster). Without the variable the peer is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
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

from benchmarks._common import machine, write_json  # noqa: E402

README = Path(__file__).resolve().parent / "peers" / "README.md"
DRIVER_CLASS = "PlacementDriver"
SEED = 20261205
#: Host and VM shapes; they must match the driver's constants in the README.
HOST_CORES, HOST_THREADS, HOST_MEMORY_GIB, HOST_DISK_GB = 16, 2, 128, 4000
VM_FLAVOURS = ((2, 4, 50), (4, 8, 100), (8, 16, 200))  # (vCPUs, GiB, GB)


class PeerError(RuntimeError):
    """The peer could not be built or run (the message says which step and why)."""


def driver_source(readme: Path = README) -> str:
    """The Java driver kept in the README between its driver markers."""
    text = readme.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- driver:begin -->\s*```java\n(.*?)```\s*<!-- driver:end -->", text, re.DOTALL
    )
    if found is None:
        raise PeerError(f"{readme}: no ```java block between the driver:begin/end markers")
    return found.group(1)


def build_hosts(n_hosts: int) -> Any:
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
    from cloudsim.state.hosts import HostTable

    scenario = Scenario(
        meta=Meta(name="peer-firstfit"),
        sites=[Site(name="city")],
        datacenters=[DataCenter(name="dc", site="city", racks=max(2, n_hosts // 40))],
        zones=[Zone(name="zone")],
        host_classes=[
            HostClass(
                name="h",
                cores=HOST_CORES,
                threads_per_core=HOST_THREADS,
                memory=f"{HOST_MEMORY_GIB}GiB",
                disk=f"{HOST_DISK_GB}GB",
            )
        ],
        pools=[
            Pool(
                name="pool",
                datacenter="dc",
                zone="zone",
                hosts=[HostGroup(host_class="h", count=n_hosts)],
                cpu_overcommit=1.0,
                memory_overcommit=1.0,
            )
        ],
    )
    return HostTable.from_scenario(scenario)


def cloudsim_side(n_hosts: int, n_vms: int, gap: float, kernel: str = "auto") -> dict[str, float]:
    """Wall seconds of building, placing at time 0, and placing as arrivals over time."""
    import simpy

    from cloudsim.placement.core import Placer, Request

    requests = [
        Request(
            demand=np.array([v * 1000, g * 1024, d, 0], dtype=np.int64),
            zone=0,
            datacenters=(0,),
        )
        for v, g, d in VM_FLAVOURS
    ]
    # the compiled kernels load once per process (from numba's cache): timed apart, as the
    # JVM's start is on the peer's side
    start = time.perf_counter()
    Placer(build_hosts(2), np.random.default_rng(SEED), preset="spread", kernel=kernel).place(
        requests[0]
    )
    warm_up_s = time.perf_counter() - start

    # building: the host table and the placer (its index of the hosts by class), as the
    # peer's build makes its hosts and the datacenter with its allocation policy
    start = time.perf_counter()
    hosts = build_hosts(n_hosts)
    placer = Placer(hosts, np.random.default_rng(SEED), preset="spread", kernel=kernel)
    build_s = time.perf_counter() - start
    place = placer.place
    start = time.perf_counter()
    placed_initial = sum(place(requests[i % 3]) >= 0 for i in range(n_vms))
    initial_s = time.perf_counter() - start

    hosts = build_hosts(n_hosts)
    placer = Placer(hosts, np.random.default_rng(SEED), preset="spread", kernel=kernel)
    place = placer.place
    counter = {"placed": 0}

    def arrivals(env: simpy.Environment) -> Any:
        for i in range(n_vms):
            wait = i * gap - env.now
            if wait > 0:
                yield env.timeout(wait)
            counter["placed"] += place(requests[i % 3]) >= 0

    start = time.perf_counter()
    env = simpy.Environment()
    env.process(arrivals(env))
    env.run()
    over_time_s = time.perf_counter() - start
    return {
        "warm_up_s": warm_up_s,
        "build_s": build_s,
        "initial_s": initial_s,
        "initial_placed": placed_initial,
        "over_time_s": over_time_s,
        "over_time_placed": counter["placed"],
        "kernel": placer.kernel,  # type: ignore[dict-item]
    }


def peer_side(classpath: str, n_hosts: int, n_vms: int, gap: float) -> dict[str, Any]:
    """CloudSim Plus: compile the README's driver, run it for both shapes."""
    javac, java = shutil.which("javac"), shutil.which("java")
    if javac is None or java is None:
        raise PeerError("CLOUDSIM_PLUS_CLASSPATH is set but javac/java are not on PATH")
    with tempfile.TemporaryDirectory(prefix="cloudsim-peer-") as folder:
        src = Path(folder) / f"{DRIVER_CLASS}.java"
        src.write_text(driver_source(), encoding="utf-8")
        built = subprocess.run(
            [javac, "-nowarn", "-cp", classpath, "-d", folder, str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if built.returncode != 0:
            raise PeerError(
                f"compiling the driver against CLOUDSIM_PLUS_CLASSPATH failed:\n{built.stderr}"
            )
        out: dict[str, Any] = {}
        for mode in ("initial", "over-time"):
            ran = subprocess.run(
                [java, "-cp", f"{folder}{os.pathsep}{classpath}", DRIVER_CLASS,
                 str(n_hosts), str(n_vms), mode, repr(gap)],
                capture_output=True,
                text=True,
                check=False,
            )  # fmt: skip
            if ran.returncode != 0:
                raise PeerError(f"the driver failed ({mode}):\n{ran.stderr[-2000:]}")
            out[mode] = json.loads(ran.stdout.strip().splitlines()[-1])
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--hosts", type=int, default=20_000)
    parser.add_argument("--vms", type=int, default=40_000)
    parser.add_argument("--gap", type=float, default=60.0, help="seconds between arrivals")
    parser.add_argument(
        "--repeats", type=int, default=1, help="cloudsim: best of these (the peer runs once)"
    )
    parser.add_argument(
        "--kernel",
        choices=("auto", "numpy", "numba"),
        default="auto",
        help="cloudsim's placer path (auto: compiled when numba is installed)",
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.hosts < 1 or args.vms < 1 or args.gap <= 0 or args.repeats < 1:
        parser.error("--hosts, --vms and --repeats must be >= 1 and --gap > 0")

    runs = [cloudsim_side(args.hosts, args.vms, args.gap, args.kernel) for _ in range(args.repeats)]
    ours = {key: min(r[key] for r in runs) for key in ("build_s", "initial_s", "over_time_s")}
    keep = ("initial_placed", "over_time_placed", "kernel", "warm_up_s")
    ours.update({k: runs[0][k] for k in keep})
    print(
        f"placement side by side: {args.hosts:,} hosts, {args.vms:,} VMs "
        f"(over time: one every {args.gap:g} s); cloudsim best of {args.repeats}, "
        f"path {ours['kernel']} (its one-time load, not in the ratios: "
        f"{ours['warm_up_s']:.2f} s)"
    )
    print(f"{'':>22} {'build s':>8} {'initial s':>10} {'over time s':>12} {'placed':>15}")
    print(
        f"{'cloudsim (spread)':>22} {ours['build_s']:>8.2f} {ours['initial_s']:>10.3f} "
        f"{ours['over_time_s']:>12.3f} {ours['initial_placed']:>7}/{ours['over_time_placed']:<7}"
    )
    record: dict[str, Any] = {
        "hosts": args.hosts,
        "vms": args.vms,
        "gap_s": args.gap,
        "cloudsim": ours,
        "machine": machine(),
    }
    classpath = os.environ.get("CLOUDSIM_PLUS_CLASSPATH")
    status = 0
    if not classpath:
        print(
            "CloudSim Plus: skipped (set CLOUDSIM_PLUS_CLASSPATH; see benchmarks/peers/README.md)"
        )
        record["cloudsim_plus"] = None
    else:
        try:
            peer = peer_side(classpath, args.hosts, args.vms, args.gap)
        except PeerError as err:
            print(f"CloudSim Plus: {err}", file=sys.stderr)
            return 2
        initial, over = peer["initial"], peer["over-time"]
        print(
            f"{'CloudSim Plus (FirstFit)':>22} {initial['build_s']:>8.2f} "
            f"{initial['simulate_s']:>10.3f} {over['simulate_s']:>12.3f} "
            f"{initial['placed']:>7}/{over['placed']:<7}"
        )
        ratios = {
            "initial": ours["initial_s"] / initial["simulate_s"],
            "over_time": ours["over_time_s"] / over["simulate_s"],
        }
        for shape, ratio in ratios.items():
            verdict = "PASS" if ratio < 1 else "FAIL"
            print(
                f"  {verdict}  {shape.replace('_', ' ')}: cloudsim takes {ratio:.3f}x "
                f"CloudSim Plus's wall time ({1 / ratio:,.1f}x faster)"
                if ratio < 1
                else f"  {verdict}  {shape.replace('_', ' ')}: cloudsim takes {ratio:.2f}x "
                f"CloudSim Plus's wall time"
            )
            if ratio >= 1:
                status = 1
        record["cloudsim_plus"] = peer
        record["ratios"] = ratios
    if args.json is not None:
        write_json(args.json, record)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
