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


def panel_html(b, costs):
    """The panel for a :func:`depthwise_breakdown` ``b`` and :func:`conv_costs` ``costs``."""
    name = html.escape(b["layer"])
    parts = [
        f"<div style='font-size:12px'><b>{name}</b> map {b['channel']} = input channel "
        f"{b['input_channel']}, filter {b['multiplier_index']}; output (row {b['row']}, col "
        f"{b['col']})",
        f"<div>input window (rows {b['input_rows'][0]}..{b['input_rows'][-1]}, cols "
        f"{b['input_cols'][0]}..{b['input_cols'][-1]}; grey = zero padding)</div>",
        _grid(b["window"], b["padded"]),
        f"<div>kernel[:, :, {b['input_channel']}, {b['multiplier_index']}]</div>", _grid(b["kernel"]),
        "<div>products</div>", _grid(b["products"], b["padded"]),
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
