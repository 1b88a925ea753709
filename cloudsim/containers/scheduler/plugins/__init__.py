"""kube-scheduler's in-tree plugins, one module each, every one a vectorised filter, scorer
or post-filter over the node table, registered by name in
:data:`~cloudsim.containers.scheduler.framework.PLUGINS` when its module is imported.

Semantics follow kube-scheduler (pkg/scheduler/framework/plugins) exactly, integer
arithmetic included: a score plugin returns int64 scores, normalised to 0..100 by its own
NormalizeScore, then weighted and summed by the scheduler. A plugin is prepared once per
pod template (:meth:`~cloudsim.containers.scheduler.framework.FilterPlugin.prefilter`,
:meth:`~cloudsim.containers.scheduler.framework.ScorePlugin.prescore`) and the preparation
is reused for every pod of the template.
"""

from cloudsim.containers.scheduler.plugins.balanced_allocation import (
    NodeResourcesBalancedAllocation,
)
from cloudsim.containers.scheduler.plugins.default_preemption import DefaultPreemption
from cloudsim.containers.scheduler.plugins.inter_pod_affinity import InterPodAffinity
from cloudsim.containers.scheduler.plugins.node_affinity import NodeAffinity, required_node_affinity
from cloudsim.containers.scheduler.plugins.node_resources_fit import NodeResourcesFit
from cloudsim.containers.scheduler.plugins.node_unschedulable import NodeUnschedulable
from cloudsim.containers.scheduler.plugins.pod_topology_spread import PodTopologySpread
from cloudsim.containers.scheduler.plugins.taint_toleration import TaintToleration

__all__ = [
    "DefaultPreemption",
    "InterPodAffinity",
    "NodeAffinity",
    "NodeResourcesBalancedAllocation",
    "NodeResourcesFit",
    "NodeUnschedulable",
    "PodTopologySpread",
    "TaintToleration",
    "required_node_affinity",
]
