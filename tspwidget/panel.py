"""HTML for the side panel: the arithmetic of one depthwise output and the layer's costs."""

from __future__ import annotations

import html

import numpy as np

_CELL = "padding:1px 4px;text-align:right;font-family:monospace;font-size:11px"


def _grid(values, padded=None, fmt="{:.3g}"):
    rows = []
    for i, line in enumerate(np.atleast_2d(values)):
        cells = []
        for j, v in enumerate(line):
            style = _CELL + (";color:#888" if padded is not None and padded[i, j] else "")
            cells.append(f"<td style='{style}'>{fmt.format(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table style='border-collapse:collapse;margin:2px 0 6px'>" + "".join(rows) + "</table>"


def _figure(caption, table):
    """A small table with its caption above it (one flex item: figures sit side by side while
    the panel is wide, and stack when it is narrow)."""
    return f"<div><div style='white-space:nowrap'>{caption}</div>{table}</div>"


def panel_html(b, costs):
    """The panel for a :func:`depthwise_breakdown` ``b`` and :func:`conv_costs` ``costs``."""
    name = html.escape(b["layer"])
    rows, cols = b["input_rows"], b["input_cols"]
    parts = [
        "<div style='font-size:12px;line-height:1.4'>",
        f"<div><b>{name}</b> map {b['channel']} = input channel {b['input_channel']}, filter "
        f"{b['multiplier_index']}</div>",
        f"<div style='white-space:nowrap'>output at row {b['row']}, col {b['col']}</div>",
        "<div style='display:flex;flex-wrap:wrap;gap:0 16px;align-items:flex-start;margin-top:4px'>",
        _figure(f"input rows {rows[0]}..{rows[-1]}, cols {cols[0]}..{cols[-1]}",
                _grid(b["window"], b["padded"])),
        _figure(f"kernel[:, :, {b['input_channel']}, {b['multiplier_index']}]", _grid(b["kernel"])),
        _figure("products", _grid(b["products"], b["padded"])),
        "</div>",
        "<div style='color:#888;font-size:11px'>grey: zero padding</div>" if np.any(b["padded"]) else "",
        f"<div>sum {b['products'].sum():.6g} + bias {b['bias']:.6g} = <b>{b['sum']:.6g}</b>",
    ]
    if b["activation"] != "linear":
        parts.append(f"; {b['activation']} -> <b>{b['value']:.6g}</b>")
    parts.append(f"</div><div>shown: {b['displayed']:.6g}</div>")
    rows = "".join(
        f"<tr><td style='{_CELL};text-align:left'>{label}</td><td style='{_CELL}'>{c['params']:,}</td>"
        f"<td style='{_CELL}'>{c['macs']:,}</td></tr>"
        for label, c in (("depthwise", costs["depthwise"]), ("+ pointwise (separable)", costs["separable"]),
                         ("standard conv", costs["standard"])))
    parts.append(
        "<div style='margin-top:8px'><b>cost</b> for output "
        f"{'x'.join(map(str, costs['output_shape']))}</div><table style='border-collapse:collapse'>"
        f"<tr><th style='{_CELL}'></th><th style='{_CELL}'>params</th><th style='{_CELL}'>"
        f"multiply-adds</th></tr>{rows}</table></div>")
    return "".join(parts)
