"""``DepthwiseExplorer``: what-if sliders over one depthwise layer applied to your own tensor."""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .core import inspect
from .core._validation import as_float_array
from .core.layers import DepthwiseConv2d, Input3d, RGBInput
from .models import Sequential
from .progress import _in_kernel
from .widget import ModelView

FILTER_NAMES = ("identity", "left-right edges", "top-bottom edges", "blur")


def filter_bank(kh, kw, channels, multiplier):
    """Kernels ``(kh, kw, C, M)``: filter ``m`` of every channel is identity, a horizontal or a
    vertical gradient, or a blur (cycling), so each map's picture says what its filter does."""
    rows, cols = np.linspace(-1, 1, kh) if kh > 1 else np.zeros(1), np.linspace(-1, 1, kw) if kw > 1 else np.zeros(1)
    smooth_r, smooth_c = 1.5 - np.abs(rows), 1.5 - np.abs(cols)
    identity = np.zeros((kh, kw))
    identity[(kh - 1) // 2, (kw - 1) // 2] = 1
    bank = [identity, np.outer(smooth_r, cols), np.outer(rows, smooth_c), np.ones((kh, kw)) / (kh * kw)]
    kernel = np.stack([bank[m % len(bank)] for m in range(multiplier)], axis=-1)  # (kh, kw, M)
    return np.repeat(kernel[:, :, None, :], channels, axis=2).astype(np.float32)


class DepthwiseExplorer(widgets.VBox):
    """Sliders for kernel size, strides, padding, dilation and depth multiplier over ``x``.

    Every change re-runs the depthwise op on ``x`` (shape ``(h, w, c)``; never modified) with a
    readable filter bank (identity, edges, blur) and shows it in the same view: in place when the
    output shape is unchanged, else re-laid out (``ModelView.replace_model``). It also shows the
    output-size formula with the numbers filled in and the layer's cost; a combination
    that cannot work shows why instead of a traceback. ``view_options`` go to :class:`ModelView`.
    """

    def __init__(self, x, *, kernel_size=3, strides=1, padding="same", dilation=1,
                 depth_multiplier=2, **view_options):
        x = as_float_array(x, "x")
        if x.ndim != 3 or 0 in x.shape:
            raise ValueError(f"`x` must be one sample (h, w, c), got shape {x.shape}.")
        self.x = np.array(x, np.float32)
        self.view_options = view_options
        slider = dict(continuous_update=False, style={"description_width": "110px"})
        self.controls = {
            "kernel_size": widgets.IntSlider(kernel_size, 1, 7, description="kernel size", **slider),
            "stride_rows": widgets.IntSlider(strides, 1, 4, description="stride (rows)", **slider),
            "stride_cols": widgets.IntSlider(strides, 1, 4, description="stride (cols)", **slider),
            "dilation": widgets.IntSlider(dilation, 1, 4, description="dilation", **slider),
            "depth_multiplier": widgets.IntSlider(depth_multiplier, 1, 4, description="depth multiplier", **slider),
            "padding": widgets.ToggleButtons(options=["valid", "same"], value=padding, description="padding"),
        }
        self.formula = widgets.HTML()
        self.view = None
        super().__init__(children=[widgets.HBox([widgets.VBox(list(self.controls.values())), self.formula])])
        for control in self.controls.values():
            control.observe(self._on_change, "value")
        self._on_change()

    @property
    def settings(self):
        c = {k: w.value for k, w in self.controls.items()}
        return dict(kernel_size=c["kernel_size"], strides=(c["stride_rows"], c["stride_cols"]),
                    padding=c["padding"], dilation=c["dilation"], depth_multiplier=c["depth_multiplier"])

    def _on_change(self, change=None):
        s = self.settings
        h, w, c = self.x.shape
        try:
            out, lines = inspect.output_size_steps((h, w), s["kernel_size"], strides=s["strides"],
                                                   padding=s["padding"], dilation=s["dilation"])
        except ValueError as err:  # e.g. "valid" with a window larger than the picture
            self.formula.value = (f"<div style='color:#c00;max-width:420px'><b>Not possible:</b> "
                                  f"{html.escape(str(err))}</div>")
            return
        k = s["kernel_size"]
        layer = DepthwiseConv2d(kernel=filter_bank(k, k, c, s["depth_multiplier"]), strides=s["strides"],
                                padding=s["padding"], dilation=s["dilation"], name="depthwise")
        source = (RGBInput if c == 3 else Input3d)(shape=(h, w, c), name="input")
        model = Sequential([source, layer]).init()
        model.predict(self.x)
        costs = inspect.conv_costs((h, w, c), k, depth_multiplier=s["depth_multiplier"],
                                   strides=s["strides"], padding=s["padding"], dilation=s["dilation"])
        self.formula.value = self._formula_html(lines, out, costs, s)
        if self.view is not None:  # the same view: in place when the shapes allow, no new renderer
            layer.open_layer()
            self.view.replace_model(model)
            return
        self.view = ModelView(model, **self.view_options)
        self.children = (self.children[0], self.view)
        if _in_kernel():  # the maps fan out once the browser has drawn the view
            self.view.when_ready(layer.open_layer)
        else:
            layer.open_layer()

    @staticmethod
    def _formula_html(lines, out, costs, s):
        rows = "".join(f"<div>{html.escape(line)}</div>" for line in lines)
        filters = ", ".join(FILTER_NAMES[m % len(FILTER_NAMES)] for m in range(s["depth_multiplier"]))
        cost = "".join(f"<div>{name}: {c['params']:,} params, {c['macs']:,} multiply-adds</div>"
                       for name, c in (("depthwise", costs["depthwise"]),
                                       ("depthwise + pointwise", costs["separable"]),
                                       ("standard conv", costs["standard"])))
        return (f"<div style='font-size:12px;max-width:480px'><b>output {out[0]} x {out[1]} x "
                f"{costs['output_shape'][2]}</b>{rows}<div>filters per input channel: {filters}"
                f"</div><div style='margin-top:6px'><b>cost</b></div>{cost}</div>")
