"""NodeUnschedulable: cordoned nodes are no place for new pods."""

from __future__ import annotations

from typing import Any

from cloudsim.containers.labels import BoolArray, IntArray
from cloudsim.containers.nodes import TAINT_UNSCHEDULABLE, Taint
from cloudsim.containers.pods import tolerates
from cloudsim.containers.scheduler.framework import FilterPlugin, register_plugin
from cloudsim.containers.scheduler.plugins.helper import take


@register_plugin
class NodeUnschedulable(FilterPlugin):
    """Cordoned nodes, unless the pod tolerates ``node.kubernetes.io/unschedulable``."""

    name = "NodeUnschedulable"
    static = True
    reason = "node(s) were unschedulable"

    def prefilter(self, tid: int) -> Any:
        template = self.cluster.templates[tid]
        if tolerates(template.tolerations, Taint(TAINT_UNSCHEDULABLE, "", "NoSchedule")):
            return None
        return True

    def filter(self, prep: Any, cols: IntArray | None) -> BoolArray:
        result: BoolArray = ~take(self.cluster.nodes.unschedulable, cols)
        return result
