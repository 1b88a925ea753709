"""A scenario that replays an Alibaba openb pod list on the nodes of an openb node list
(``cloudsim replay``), and the scheduler profiles such a replay can pick by name. The
replay itself is :class:`~cloudsim.containers.controllers.replay.TraceReplay`."""

from __future__ import annotations

from pathlib import Path

#: Scheduler profiles a replay can pick by name (the scenario may define more).
REPLAY_PROFILES: list[dict[str, object]] = [
    {  # kube-scheduler's default scoring, GPUs counted as a scored resource
        "name": "spread",
        "fit": {"strategy": "LeastAllocated", "resources": {"cpu": 1, "memory": 1, "gpu": 1}},
        "balanced_resources": {"cpu": 1, "memory": 1, "gpu": 1},
    },
    {  # bin packing: the fullest node that fits, on CPU, memory and GPU
        "name": "binpack",
        "plugins": {"NodeResourcesBalancedAllocation": 0},
        "fit": {"strategy": "MostAllocated", "resources": {"cpu": 1, "memory": 1, "gpu": 1}},
    },
    {  # pack GPUs first: GPU allocation weighs three times CPU and memory
        "name": "gpu-packing",
        "plugins": {"NodeResourcesBalancedAllocation": 0},
        "fit": {"strategy": "MostAllocated", "resources": {"cpu": 1, "memory": 1, "gpu": 3}},
    },
]


def replay_scenario(
    nodes: str | Path,
    pods: str | Path,
    *,
    profile: str = "default-scheduler",
    keep_running: bool = True,
    limit: int | None = None,
    horizon: str = "150d",
    sample_interval: str = "1h",
    seed: int = 0,
    name: str = "alibaba-openb-replay",
) -> dict[str, object]:
    """A scenario (as a dict, to validate) that replays an openb pod list on the nodes of
    an openb node list with the scheduler profile ``profile``: kube-scheduler's default, or
    one of :data:`REPLAY_PROFILES`. The IaaS part is a placeholder (one small host, one
    system without cloud hosts)."""
    replay: dict[str, object] = {
        "cluster": "openb",
        "pods": str(pods),
        "keep_running": keep_running,
    }
    if limit is not None:
        replay["limit"] = limit
    return {
        "meta": {
            "name": name,
            "horizon": horizon,
            "sample_interval": sample_interval,
            "seed": seed,
        },
        "sites": [{"name": "alibaba"}],
        "datacenters": [{"name": "openb", "site": "alibaba", "racks": 1, "power_domains": 1}],
        "zones": [{"name": "default"}],
        "host_classes": [{"name": "placeholder", "cores": 1, "memory": "1GiB"}],
        "pools": [
            {
                "name": "placeholder",
                "datacenter": "openb",
                "zone": "default",
                "hosts": [{"host_class": "placeholder", "count": 1}],
            }
        ],
        "flavors": [{"name": "placeholder", "vcpus": 1, "memory": "1GiB"}],
        "departments": [{"name": "alibaba"}],
        "systems": [
            {
                "name": "openb-trace",
                "department": "alibaba",
                "zone": "default",
                "datacenters": ["openb"],
                "vms": [{"flavor": "placeholder", "count": 0}],
            }
        ],
        "containers": {
            "profiles": REPLAY_PROFILES,
            "clusters": [{"name": "openb", "trace_nodes": str(nodes), "scheduler": profile}],
            "replay": replay,
        },
    }
