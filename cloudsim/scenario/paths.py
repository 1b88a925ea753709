"""Field paths of a raw scenario document, as shown in error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: Characters that must not reach a terminal raw: C0 and C1 controls (newlines, escapes),
#: Unicode line and paragraph separators, and bidirectional overrides.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with control characters escaped as in Python (``\\n``, ``\\x1b``)."""
    return _UNPRINTABLE.sub(
        lambda match: match.group().encode("unicode_escape").decode("ascii"), text
    )


def format_path(loc: Iterable[str | int], data: Any = None) -> str:
    """``pools[cs-idc-x86].datacenter``: list items by name when they have one."""
    text = ""
    node = data
    for key in loc:
        if isinstance(key, int):
            name = None
            if isinstance(node, list) and 0 <= key < len(node) and isinstance(node[key], dict):
                name = node[key].get("name")
            text += f"[{printable(name)}]" if isinstance(name, str) else f"[{key}]"
        else:
            part = printable(str(key)) or "''"  # an empty key is shown, not lost
            text += f".{part}" if text else part
        node = step(node, key)
    return text


def step(node: Any, key: str | int) -> Any:
    """``node[key]`` of a raw YAML document, or None where it has no such item."""
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None
