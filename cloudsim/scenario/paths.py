"""Field paths of a raw scenario document, as shown in error messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def format_path(loc: Iterable[str | int], data: Any = None) -> str:
    """``pools[cs-idc-x86].datacenter``: list items by name when they have one."""
    text = ""
    node = data
    for key in loc:
        if isinstance(key, int):
            name = None
            if isinstance(node, list) and 0 <= key < len(node) and isinstance(node[key], dict):
                name = node[key].get("name")
            text += f"[{name}]" if isinstance(name, str) else f"[{key}]"
        else:
            text += f".{key}" if text else str(key)
        node = step(node, key)
    return text


def step(node: Any, key: str | int) -> Any:
    """``node[key]`` of a raw YAML document, or None where it has no such item."""
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None
