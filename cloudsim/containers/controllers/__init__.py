"""The controllers of the container cloud, one simpy process each, over every object at once.

- :class:`~.replicasets.ReplicaSets`: pods to match each deployment's replicas, and the
  schedulers' retries of unschedulable pods;
- :class:`~.lifecycle.NodeLifecycle`: NotReady nodes, NoExecute evictions, Ready again;
- :class:`~.endpoints.Endpoints`: starting pods becoming ready endpoints;
- :class:`~.hpa.HorizontalPodAutoscaling`: every HPA, on one sync grid;
- :class:`~.autoscaler.ClusterAutoscaler`: node groups grown and shrunk;
- :class:`~.replay.TraceReplay`: an openb pod list at the trace's own times.

Each depends on :class:`~.base.ControlPlane` and on the collaborators it is handed, never
on the container cloud as a whole (see :mod:`.base`).
"""

from cloudsim.containers.controllers.autoscaler import ClusterAutoscaler
from cloudsim.containers.controllers.base import Controller, ControlPlane, Trigger, grid_after
from cloudsim.containers.controllers.endpoints import Endpoints
from cloudsim.containers.controllers.hpa import HorizontalPodAutoscaling
from cloudsim.containers.controllers.lifecycle import NodeLifecycle
from cloudsim.containers.controllers.replay import TraceReplay
from cloudsim.containers.controllers.replicasets import ReplicaSets

__all__ = [
    "ClusterAutoscaler",
    "ControlPlane",
    "Controller",
    "Endpoints",
    "HorizontalPodAutoscaling",
    "NodeLifecycle",
    "ReplicaSets",
    "TraceReplay",
    "Trigger",
    "grid_after",
]
