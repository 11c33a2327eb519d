"""``ModelView``: a model's layers in 3D, synced both ways with the layers' status.

The widget holds traits, validates them and wires observers; all geometry lives in
``tspwidget.core.layout`` and all pythreejs objects in ``tspwidget.scene``.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import traitlets as t

from .core import inspect
from .core import model as core_model
from .core._validation import as_choice, as_int
from .core.colors import to_hex
from .core.layers.base import STATUSES, NotInitializedError
from .core.textures import AGGREGATIONS, COLORMAPS, NORMALIZATIONS, colorbar_css
from .panel import panel_html
from .scene import Scene

_CLICK_TOLERANCE = 1e-3  # of the model width: farther apart, mousedown and click were a drag
_NO_POINT = (0.0, -1e9, 0.0)  # a picker point no real click can produce


class ModelView(widgets.VBox):
    """Every layer of ``model`` in 3D: closed aggregate maps or open grids of feature maps.

    Click a closed layer to open it, its round X button to close it, and a map of an open layer
    to select it (``selected``, ``on_select``). Drag to orbit, scroll to zoom, right-drag to pan.
    ``layer.open_layer()`` / ``close_layer()`` animate every view of the model.

    Parameters
    ----------
    model : Sequential or Model
        Initialised (``model.init()``); shows values after ``model.predict``.
    aggregation : {"mean", "max"}
        What a closed layer shows: the mean or the max over its channels.
    normalize : {"map", "layer"}
        Value-to-brightness scale per feature map, or shared by the whole layer.
    width, height : int
        Canvas size in pixels.
    background : colour
    hide : iterable of str
        Layer types (e.g. ``"BatchNorm"``, ``"Activation"``) or names not to draw; the layers
        around them close up. Hidden layers still compute.
    """

    layer_status = t.Dict(help="{layer name: 'open' | 'close'}; assign to open or close layers.")
    selected = t.Dict(allow_none=True, default_value=None,
                      help="The map last clicked: layer, channel, input channel, pixel, min/max/mean.")
    aggregation = t.Unicode("mean", help="Closed layers show the 'mean' or 'max' over channels.")
    normalize = t.Unicode("map", help="Brightness scale per 'map' or per 'layer'.")
    colormap = t.Unicode("layer", help="'layer' (its colour, dark to bright) or 'viridis' (colour-blind safe).")
    projector = t.Bool(False, help="Large labels and text, for projectors.")

    def __init__(self, model, *, aggregation="mean", normalize="map", width=800, height=500,
                 background="#000000", hide=(), colormap="layer", projector=False, **kwargs):
        if not isinstance(model, core_model._BaseModel):
            raise TypeError(f"`model` must be a tspwidget Sequential or Model, got {model!r}.")
        if not model.is_initialized:
            raise NotInitializedError(
                f"model {model.name!r} is not initialised: call model.init() before showing it."
            )
        aggregation = as_choice(aggregation, "aggregation", AGGREGATIONS)
        normalize = as_choice(normalize, "normalize", NORMALIZATIONS)
        width, height = as_int(width, "width", minimum=50), as_int(height, "height", minimum=50)
        hide = self._as_hide(model, hide)
        colormap = as_choice(colormap, "colormap", COLORMAPS)
        if not isinstance(projector, bool):
            raise TypeError(f"`projector` must be True or False, got {projector!r}.")
        self.model = model
        self.scene = Scene(model, width=width, height=height, background=to_hex(background, "background"),
                           aggregation=aggregation, normalize=normalize, hide=hide,
                           colormap=colormap, projector=projector)
        self.info = widgets.HTML(value=self._info_text(None))
        self.colorbar = widgets.HTML()
        # The arithmetic inspector and cost panel, beside the scene once a depthwise map is clicked.
        self.panel = widgets.HTML(layout=widgets.Layout(
            display="none", width="340px", min_width="300px", overflow="auto",
            max_height=f"{height}px", padding="0 0 0 8px"))
        # The panel wraps below the scene when the notebook is too narrow for both side by side.
        row = widgets.HBox([self.scene.renderer, self.panel],
                           layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__(children=[row, self.colorbar, self.info], **kwargs)
        self.aggregation, self.normalize, self.colormap = aggregation, normalize, colormap
        self.projector = projector
        self._update_colorbar()
        self._select_callbacks = widgets.CallbackDispatcher()
        self._press = None
        self._resetting = False
        self._sync_status_trait()
        self._watch_layers()
        model.add_observer(self._on_model_change)
        self.scene.press.observe(self._on_press, "point")
        self.scene.click.observe(self._on_click, "point")

    def __repr__(self):  # the default repr would walk every trait of every child
        return f"<ModelView of {self.model.name!r}: {len(self.model.layers)} layers>"

    @staticmethod
    def _as_hide(model, hide):
        if isinstance(hide, str) or not all(isinstance(h, str) for h in hide):
            raise TypeError(f"`hide` must be a list of layer types or names, got {hide!r}.")
        known = {layer.name for layer in model.layers} | {layer.layer_type for layer in model.layers}
        unknown = sorted(set(hide) - known)
        if unknown:
            raise ValueError(f"`hide` names {unknown}, which are neither layer types nor layer "
                             f"names of {model.name!r}.")
        if any(layer.is_input for layer in model.layers if layer.name in hide or layer.layer_type in hide):
            raise ValueError("`hide` cannot hide an input layer.")
        return tuple(hide)

    # ------------------------------------------------------------------ validation
    @t.validate("aggregation")
    def _valid_aggregation(self, proposal):
        return as_choice(proposal["value"], "aggregation", AGGREGATIONS)

    @t.validate("normalize")
    def _valid_normalize(self, proposal):
        return as_choice(proposal["value"], "normalize", NORMALIZATIONS)

    @t.validate("colormap")
    def _valid_colormap(self, proposal):
        return as_choice(proposal["value"], "colormap", COLORMAPS)

    @t.validate("layer_status")
    def _valid_layer_status(self, proposal):
        value = proposal["value"]
        names = {layer.name for layer in self.model.layers}
        for name, status in value.items():
            if name not in names:
                raise ValueError(f"`layer_status` has unknown layer {name!r}; layers: {sorted(names)}.")
            as_choice(status, f"layer_status[{name!r}]", STATUSES)
        return dict(value)

    # ------------------------------------------------------------------ observers
    @t.observe("aggregation", "normalize", "colormap")
    def _on_colour_option(self, change):
        if getattr(self, "scene", None) is None:
            return
        self.scene.options[change["name"]] = change["new"]
        self._refresh_textures()
        self._update_colorbar()

    @t.observe("projector")
    def _on_projector(self, change):
        if getattr(self, "scene", None) is None:
            return
        self.scene.options["projector"] = change["new"]
        self._rebuild()
        self._update_colorbar()

    def _rebuild(self):
        """New meshes for every layer (shapes or label sizes changed)."""
        self._unwatch_layers()
        self.scene.build()
        self._watch_layers()
        self._sync_status_trait()

    def _update_colorbar(self):
        """A bar of the colour scale under the scene, with what its ends mean."""
        size = "16px" if self.projector else "12px"
        colour = next((layer.color for layer in self.model.layers
                       if layer.layer_type == "DepthwiseConv2d"), "#FBBF1F")
        scale = ("each map from its own minimum to its own maximum" if self.normalize == "map"
                 else "each layer from its minimum to its maximum")
        self.colorbar.value = (
            f"<div style='display:flex;align-items:center;gap:8px;font-size:{size}'>"
            f"<span>low</span><span style='display:inline-block;width:180px;height:12px;"
            f"background:{colorbar_css(self.colormap, colour)}'></span><span>high</span>"
            f"<span>({scale}; <span style='color:#f0f'>magenta</span> = NaN)</span></div>")
        self.info.style.font_size = size

    @t.observe("layer_status")
    def _on_layer_status(self, change):
        if getattr(self, "_syncing", False):
            return
        for name, status in change["new"].items():
            layer = self.model.get_layer(name)
            layer.open_layer() if status == "open" else layer.close_layer()

    def _watch_layers(self):
        for layer in self.model.layers:
            layer.add_observer(self._on_layer_change)

    def _unwatch_layers(self):
        for layer in self.model.layers:
            layer.remove_observer(self._on_layer_change)

    def _on_layer_change(self, layer, attribute, old, new):
        if attribute == "status":
            self._sync_status_trait()
        lm = self.scene.layers.get(layer.name)
        if lm is None or lm.layer is not layer:  # a hidden layer
            return
        if attribute == "status":
            lm.animate_to(new)
        elif attribute == "color":
            lm.refresh_texture()
            lm.refresh_label()
        elif attribute == "close_button":
            lm.refresh_geometry(self.scene.unit)

    def _on_model_change(self, model, event, old, new):
        if event == "init":
            self._rebuild()
        elif event == "predict":
            self._refresh_textures()

    def _refresh_textures(self):
        for lm in self.scene.layers.values():
            lm.refresh_texture()

    def _sync_status_trait(self):
        self._syncing = True
        try:
            self.layer_status = {layer.name: layer.status for layer in self.model.layers}
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ clicks
    def _nearest_point(self, picker):
        return np.asarray(picker.picked[0]["point"], float) if picker.picked else None

    def _on_press(self, change):
        if not self._resetting:
            self._press = self._nearest_point(self.scene.press)

    def _on_click(self, change):
        if self._resetting:
            return
        picker = self.scene.click
        point = self._nearest_point(picker)
        press, self._press = self._press, None
        # Reset the pickers' points, so that an identical next click is still a change that
        # reaches Python (the browser only sends what differs from the last state).
        self._resetting = True
        try:
            for p in (self.scene.press, self.scene.click):
                p.point = _NO_POINT
        finally:
            self._resetting = False
        if point is None or press is None:
            return
        if np.linalg.norm(point - press) > _CLICK_TOLERANCE * 100:
            return  # the camera moved between press and release: a drag, not a click
        lm, what = self.scene.pick(picker.picked)
        if lm is None:
            return
        if what[0] == "aggregate":
            lm.layer.open_layer()
        elif what[0] == "button":
            lm.layer.close_layer()
        elif what[0] == "map":
            self._select(lm.layer, *what[1:])

    def _select(self, layer, channel, row, col):
        values = layer.neural_value
        info = {"layer": layer.name, "layer_type": layer.layer_type, "channel": channel,
                "row": row, "col": col}
        if layer.layer_type == "DepthwiseConv2d":
            info["input_channel"] = layer.source_channel(channel)
        if values is not None:
            m = values[..., channel]
            with np.errstate(invalid="ignore"):
                info.update(value=float(m[row, col]), min=float(np.nanmin(m)) if np.isfinite(m).any() else float("nan"),
                            max=float(np.nanmax(m)) if np.isfinite(m).any() else float("nan"),
                            mean=float(np.mean(m)))
        self.selected = info
        self.info.value = self._info_text(info)
        if layer.layer_type == "DepthwiseConv2d" and values is not None:
            self.inspect(layer, channel, row, col)
        self._select_callbacks(info)

    def inspect(self, layer, channel, row, col):
        """The arithmetic behind ``layer``'s output at ``(row, col)`` of ``channel``.

        Returns :func:`tspwidget.core.inspect.depthwise_breakdown`'s dict, shows it in the panel
        beside the scene with the layer's costs, and outlines the input window in 3D.
        """
        if isinstance(layer, str):
            layer = self.model.get_layer(layer)
        breakdown = inspect.depthwise_breakdown(layer, channel, row, col)
        costs = inspect.conv_costs(layer.input_shape, layer.kernel_size,
                                   depth_multiplier=layer.depth_multiplier, strides=layer.strides,
                                   padding=layer.padding, dilation=layer.dilation,
                                   use_bias=layer.use_bias)
        self.panel.value = panel_html(breakdown, costs)
        self.panel.layout.display = None
        source = layer.inbound_layers[0]
        self.scene.highlight(source.name, breakdown["input_channel"], breakdown["input_rows"],
                             breakdown["input_cols"])
        return breakdown

    def save_html(self, path, title=None):
        """Write this view as one self-contained HTML page: no network and no kernel needed, and
        clicking layers open and shut still animates (see :mod:`tspwidget.export`)."""
        from pathlib import Path

        from .export import to_html
        from .progress import progress_bar

        with progress_bar("exporting") as progress:
            if progress:
                progress(0, 2)
            page = to_html(self, title=title)  # collects every widget's state: the slow part
            if progress:
                progress(1, 2)
            Path(path).write_text(page, encoding="utf-8")
        return Path(path)

    def on_select(self, callback, remove=False):
        """Call ``callback(selected_dict)`` whenever a feature map is clicked."""
        self._select_callbacks.register_callback(callback, remove=remove)

    def _info_text(self, info):
        if info is None:
            return ("<span style='font-size:90%'>Click a closed layer to open it, the round X to "
                    "close it, a map to select it; drag to orbit, scroll to zoom.</span>")
        parts = [f"<b>{html.escape(info['layer'])}</b> ({info['layer_type']})",
                 f"map {info['channel']}"]
        if "input_channel" in info:
            parts.append(f"from input channel {info['input_channel']}")
        parts.append(f"pixel (row {info['row']}, col {info['col']})")
        if "value" in info:
            parts.append(f"value {info['value']:.4g}; map min {info['min']:.4g}, "
                         f"max {info['max']:.4g}, mean {info['mean']:.4g}")
        return " · ".join(parts)

    def close(self):
        """Stop following the model, then close the widget and its children."""
        if getattr(self, "model", None) is not None:  # also called by __del__ of a failed init
            self._unwatch_layers()
            self.model.remove_observer(self._on_model_change)
        if getattr(self, "scene", None) is not None:
            self.scene.close()
            self.info.close()
        super().close()


core_model.view_factory = ModelView
