"""The container cloud (容器云): a Kubernetes-grade scheduler over vectorised node tables.

Build a :class:`NodeTable` (from bare-metal hosts, VMs of an IaaS pool or an Alibaba openb
node list), wrap it in a :class:`Cluster`, and schedule :class:`PodTemplate` pods with a
:class:`Scheduler` and a :class:`Profile`::

    nodes = NodeTable(read_openb_nodes("openb_node_list_all_node.csv"))
    cluster = Cluster(nodes)
    scheduler = Scheduler(cluster, Profile(), rng=np.random.default_rng(7))
    scheduler.submit(PodTemplate(cpu=2000, memory=4096, gpu_milli=500), count=10)
    scheduler.schedule_pending()
    scheduler.explain(PodTemplate(cpu=2000, memory=4096))

In a simulation, a scenario's ``containers`` section becomes a
:class:`~cloudsim.containers.cloud.ContainerCloud`: clusters whose node VMs are cloud hosts
of the IaaS platform, and the controllers (replica sets, node lifecycle, endpoints, HPAs,
cluster autoscaler, trace replay) as simpy processes the kernel starts.
"""

from cloudsim.containers.cluster import Cluster, PodDisruptionBudget
from cloudsim.containers.labels import LabelSelector, Requirement
from cloudsim.containers.nodes import (
    LABEL_ALIASES,
    RESOURCES,
    NodeGroup,
    NodeTable,
    Taint,
    bare_metal_nodes,
    vm_nodes,
)
from cloudsim.containers.openb import read_openb_nodes, read_openb_pods
from cloudsim.containers.pods import (
    NodeSelectorTerm,
    PodAffinityTerm,
    PodPhase,
    PodTemplate,
    PreferredSchedulingTerm,
    Toleration,
    TopologySpreadConstraint,
    WeightedPodAffinityTerm,
)
from cloudsim.containers.scheduler import (
    DEFAULT_FILTERS,
    DEFAULT_WEIGHTS,
    PLUGINS,
    Explanation,
    FilterPlugin,
    Profile,
    Scheduler,
    ScorePlugin,
    Unschedulable,
    register_plugin,
)

__all__ = [
    "DEFAULT_FILTERS",
    "DEFAULT_WEIGHTS",
    "LABEL_ALIASES",
    "PLUGINS",
    "RESOURCES",
    "Cluster",
    "Explanation",
    "FilterPlugin",
    "LabelSelector",
    "NodeGroup",
    "NodeSelectorTerm",
    "NodeTable",
    "PodAffinityTerm",
    "PodDisruptionBudget",
    "PodPhase",
    "PodTemplate",
    "PreferredSchedulingTerm",
    "Profile",
    "Requirement",
    "Scheduler",
    "ScorePlugin",
    "Taint",
    "Toleration",
    "TopologySpreadConstraint",
    "Unschedulable",
    "WeightedPodAffinityTerm",
    "bare_metal_nodes",
    "read_openb_nodes",
    "read_openb_pods",
    "register_plugin",
    "vm_nodes",
]
