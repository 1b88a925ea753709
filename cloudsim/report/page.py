"""HTML building blocks of a report: one self-contained page (inline style, inline SVG, no
script, nothing fetched), sections, tables and numbers that carry their source.

A number taken from ``summary.json`` is written as ``<span data-summary="PATH"
data-value="RAW">shown</span>``: the page says where each figure came from, and a test (or
a reader's script) can parse every one back and compare it with the file.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The page's style: readable on screen and in print, no web fonts.
STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", sans-serif;
  margin: 0 auto; max-width: 1200px; padding: 1rem 2rem 4rem; color: #1f2328; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #d0d7de; padding-bottom: .2rem;
  margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
p.lead, p.note { color: #57606a; margin-top: .2rem; }
nav ul { display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; padding: 0; list-style: none; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .2rem .55rem; text-align: left;
  vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; white-space: nowrap; }
td.blank { color: #8c959f; }
div.scroll { max-height: 28rem; overflow: auto; display: inline-block; max-width: 100%; }
figure.chart { margin: .8rem 0 1.4rem; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #57606a; font-size: .9rem; max-width: 60rem; }
.missing { color: #8c959f; }
.fail { color: #cf222e; font-weight: 600; }
.ok { color: #1a7f37; font-weight: 600; }
"""


def esc(value: object) -> str:
    """Text for HTML (quotes too: the same helper serves attributes)."""
    return html.escape(str(value), quote=True)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fmt(value: object, unit: str = "") -> str:
    """A value as a person reads it: integers with thousands separators, other numbers to
    four significant digits (from 1,000 on whole, with separators), blank for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        if math.isinf(value):
            text = "∞" if value > 0 else "-∞"
        elif abs(value) >= 1e3:
            text = f"{value:,.0f}"
        elif value == int(value):
            text = f"{value:g}"
        else:
            text = f"{value:.4g}"
    else:
        return str(value)
    return f"{text} {unit}".rstrip()


def percent(value: object, digits: int = 1) -> str:
    """A fraction as a percentage (blank for None)."""
    if not is_number(value):
        return ""
    assert isinstance(value, int | float)
    return f"{value * 100:.{digits}f} %"


def summary_value(summary: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of ``summary.json`` (None when absent). Names may hold
    dots (``cs.idc``): at each level the longest run of parts that is a key is taken."""
    parts = path.split(".")
    node: Any = summary
    i = 0
    while i < len(parts):
        if not isinstance(node, Mapping):
            return None
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if key in node:
                node = node[key]
                i = j
                break
        else:
            return None
    return node


def num(summary: Mapping[str, Any], path: str, shown: str | None = None, unit: str = "") -> str:
    """A summary value with its source: the raw value in ``data-value``, the path in
    ``data-summary``; ``shown`` overrides the text (e.g. a percentage)."""
    value = summary_value(summary, path)
    if value is None:
        return '<span class="missing">—</span>'
    text = fmt(value, unit) if shown is None else shown
    return f'<span data-summary="{esc(path)}" data-value="{esc(_raw(value))}">{esc(text)}</span>'


def num_pct(summary: Mapping[str, Any], path: str, digits: int = 1) -> str:
    return num(summary, path, percent(summary_value(summary, path), digits))


def _raw(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


@dataclass
class Cell:
    """A table cell: raw HTML (already escaped) and whether it is numeric (right-aligned)."""

    html: str
    numeric: bool = False


def cell(value: object, unit: str = "") -> Cell:
    """A cell from a plain value (escaped, formatted)."""
    if isinstance(value, Cell):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return Cell("", False)
    return Cell(esc(fmt(value, unit)), is_number(value))


def raw(text: str, numeric: bool = False) -> Cell:
    """A cell from HTML that is already escaped."""
    return Cell(text, numeric)


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    scroll: bool = False,
    name: str | None = None,
) -> str:
    """An HTML table; cells are plain values (formatted, escaped) or :class:`Cell`."""
    body = []
    for row in rows:
        tds = []
        for value in row:
            c = cell(value)
            classes = " ".join(k for k, on in (("num", c.numeric), ("blank", c.html == "")) if on)
            tds.append(f'<td class="{classes}">{c.html}</td>' if classes else f"<td>{c.html}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    attr = f' data-table="{esc(name)}"' if name else ""
    text = f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="scroll">{text}</div>' if scroll else text


def key_values(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """A nested mapping flattened to (dotted key, value) pairs, lists shown joined."""
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += key_values(value, f"{path}.")
        elif isinstance(value, list | tuple):
            out.append((path, ", ".join(fmt(v) for v in value)))
        else:
            out.append((path, value))
    return out


@dataclass
class Section:
    """One part of the page: an id (the anchor), a title and its HTML."""

    id: str
    title: str
    parts: list[str] = field(default_factory=list)

    def add(self, *html_parts: str) -> Section:
        self.parts.extend(html_parts)
        return self

    def h3(self, title: str) -> Section:
        return self.add(f"<h3>{esc(title)}</h3>")

    def note(self, text: str) -> Section:
        return self.add(f'<p class="note">{esc(text)}</p>')

    def render(self) -> str:
        return (
            f'<section id="{esc(self.id)}" data-section="{esc(self.id)}">'
            f"<h2>{esc(self.title)}</h2>{''.join(self.parts)}</section>"
        )


def page(title: str, lead: str, sections: Sequence[Section], generator: str) -> str:
    """The whole document."""
    nav = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{esc(generator)}">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f'<header><h1>{esc(title)}</h1><p class="lead">{esc(lead)}</p>'
        f"<nav><ul>{nav}</ul></nav></header>"
        f"{''.join(s.render() for s in sections)}"
        "</body></html>\n"
    )
