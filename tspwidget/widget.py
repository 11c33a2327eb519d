"""``ModelView``: a model's layers in 3D, synced both ways with the layers' status.

The widget holds traits, validates them and wires observers; all geometry lives in
``tspwidget.core.layout`` and all pythreejs objects in ``tspwidget.scene``.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import traitlets as t

from .controller import SceneController
from .core import diagram, inspect
from .core import model as core_model
from .core._validation import as_choice, as_int
from .core.colors import to_hex
from .core.layers.base import STATUSES, NotInitializedError
from .core.layers.conv import DepthwiseConv2d
from .core.textures import AGGREGATIONS, COLORMAPS, NORMALIZATIONS, colorbar_css
from .drawing import DrawingPad, predict_image
from .export import save_html, to_html
from .panel import panel_html
from .progress import progress_bar
from .scene import Scene
from .timeline import Timeline


class Choice(t.Unicode):
    """A string trait limited to ``choices``; a bad value is our ValueError naming the trait
    and what is allowed (traitlets' Enum would raise a TraitError)."""

    def __init__(self, default, choices, **kwargs):
        self.choices = tuple(choices)
        super().__init__(default, **kwargs)

    def validate(self, obj, value):
        return as_choice(value, self.name, self.choices)


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
    fold : bool
        Draw BatchNorm / activation / padding layers that directly follow a convolution inside
        that convolution's node (its label says ``+BN +ReLU6``). Their outputs stay in
        ``selected`` and ``inspect``.
    follow : bool
        After a layer opens, ease the camera to frame it (``focus(None)`` or the "whole model"
        button eases back); ``False`` keeps the camera still.
    """

    layer_status = t.Dict(help="{layer name: 'open' | 'close'}; assign to open or close layers.")
    selected = t.Dict(allow_none=True, default_value=None,
                      help="The map last clicked: layer, channel, input channel, pixel, min/max/mean.")
    aggregation = Choice("mean", AGGREGATIONS, help="Closed layers show the 'mean' or 'max' over channels.")
    normalize = Choice("map", NORMALIZATIONS, help="Brightness scale per 'map' or per 'layer'.")
    colormap = Choice("layer", COLORMAPS, help="'layer' (its colour, dark to bright) or 'viridis' (colour-blind safe).")
    projector = t.Bool(False, help="Large labels and text, for projectors.")
    follow = t.Bool(True, help="Frame a layer with the camera when it opens.")
    kernels = t.Tuple(help="Depthwise layers whose kernels are drawn beside their open grids.")

    def __init__(self, model, *, aggregation="mean", normalize="map", width=800, height=500,
                 background="#000000", hide=(), colormap="layer", projector=False, fold=True,
                 follow=True, **kwargs):
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
        for name, value in (("projector", projector), ("fold", fold), ("follow", follow)):
            if not isinstance(value, bool):
                raise TypeError(f"`{name}` must be True or False, got {value!r}.")
        self.model = model
        self.scene = Scene(model, width=width, height=height, background=to_hex(background, "background"),
                           aggregation=aggregation, normalize=normalize, hide=hide,
                           colormap=colormap, projector=projector, fold=fold)
        sc = self.scene
        self.controller = SceneController(scene=sc.scene, camera=sc.camera, orbit=sc.orbit,
                                          hover=sc.hover, links=sc.links, follow=follow,
                                          layout=widgets.Layout(grid_area="scene"))
        self._push_scene()
        self.controller.observe(self._on_controller_status, "status")
        self.controller.on_msg(self._on_controller_message)
        self.info = widgets.HTML(value=self._info_text(None))
        self.colorbar = widgets.HTML()
        # The arithmetic inspector and cost panel, beside the scene once a depthwise map is clicked.
        self.panel = widgets.HTML(layout=widgets.Layout(
            display="none", flex="1 1 340px", min_width="300px", overflow="auto",
            max_height=f"{height}px", padding="0 0 0 8px"))
        # The controller's overlay (labels, hover caption, "whole model") lies on the canvas: both
        # fill the same grid cell. The panel wraps below when the notebook is too narrow, and
        # then takes the whole width (its tables side by side).
        sc.renderer.layout.grid_area = "scene"
        stage = widgets.GridBox([sc.renderer, self.controller], layout=widgets.Layout(
            grid_template_areas='"scene"', grid_template_columns=f"{width}px",
            grid_template_rows=f"{height}px"))
        row = widgets.HBox([stage, self.panel], layout=widgets.Layout(flex_flow="row wrap"))
        # One toggle for every depthwise layer's kernels (view.show_kernels picks single layers).
        self.kernels_toggle = widgets.ToggleButton(
            description="kernels", tooltip="Draw each depthwise layer's kernels beside its open grid",
            layout=widgets.Layout(width="auto", flex="0 0 auto", margin="0 0 0 8px",
                                  display=None if self._kernel_layers() else "none"))
        self.kernels_toggle.observe(self._on_kernels_toggle, "value")
        bar = widgets.HBox([self.colorbar, self.kernels_toggle],
                           layout=widgets.Layout(align_items="center", justify_content="space-between",
                                                 width=f"{width}px"))
        super().__init__(children=[row, bar, self.info], **kwargs)
        self.add_class("tsp-view")
        self.aggregation, self.normalize, self.colormap = aggregation, normalize, colormap
        self.projector = projector
        self.follow = follow
        t.link((self, "follow"), (self.controller, "follow"))
        self._update_colorbar()
        self._select_callbacks = widgets.CallbackDispatcher()
        self._ready_callbacks = []
        self._sync_status_trait()
        self._watch_layers()
        model.add_observer(self._on_model_change)

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
        self.scene.set_options(**{change["name"]: change["new"]})
        self._refresh_textures()
        self._update_colorbar()

    @t.observe("projector")
    def _on_projector(self, change):
        if getattr(self, "scene", None) is None:
            return
        self.scene.set_options(projector=change["new"])
        self._rebuild()
        self._update_colorbar()

    def _rebuild(self):
        """New meshes for every layer (shapes or label sizes changed)."""
        self._unwatch_layers()
        self.scene.build()
        self._push_scene()
        self._watch_layers()
        self._sync_status_trait()

    def _push_scene(self):
        """Everything the browser controller needs about the scene as it is now (one message)."""
        sc, ctl = self.scene, self.controller
        plan = sc.plan.to_json()
        for node, lm in zip(plan["nodes"], sc.layers.values()):
            node["color"] = lm.layer.color
        geometry = sc.pick_geometry()
        with ctl.hold_sync():
            ctl.meshes = [lm.mesh for lm in sc.layers.values()]
            ctl.links = sc.links
            ctl.plan = plan
            ctl.geometry = geometry
            ctl.size = {"width": sc.width, "height": sc.height}
            ctl.status = {name: lm.layer.status for name, lm in sc.layers.items()}
            ctl.anime = {name: float(lm.layer.anime_time) for name, lm in sc.layers.items()}

    def _update_colorbar(self):
        """A bar of the colour scale under the scene, with what its ends mean."""
        size = "16px" if self.projector else "12px"
        colour = next((layer.color for layer in self.model.layers if isinstance(layer, DepthwiseConv2d)),
                      DepthwiseConv2d.default_color)
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
        if lm is None or lm.layer is not layer:  # a hidden or folded layer
            return
        ctl = self.controller
        if attribute == "status":
            if new == "close" and self._outlined_by == layer.name:
                self.scene.clear_highlight()
                self._outlined_by = None
            ctl.status = {**ctl.status, layer.name: new}  # the browser animates it
            if lm.kernels is not None:  # where they end (the browser eases them there)
                lm.kernels.fold(new)
        elif attribute == "anime_time":
            ctl.anime = {**ctl.anime, layer.name: float(new)}
        elif attribute == "color":
            lm.refresh_texture()
            self._push_scene()
        elif attribute == "close_button":
            lm.refresh_geometry(self.scene.unit)
            self.scene.plan = self.scene._plan()
            self._push_scene()

    def _on_controller_status(self, change):
        """A click in the browser opened or closed a layer: tell the layer (and so every view)."""
        for name, status in change["new"].items():
            if change["old"].get(name) != status and name in self.scene.layers:
                layer = self.scene.layers[name].layer
                layer.open_layer() if status == "open" else layer.close_layer()

    def _on_controller_message(self, _widget, content, _buffers):
        if content.get("event") == "ready":
            callbacks, self._ready_callbacks = self._ready_callbacks, []
            for callback in callbacks:
                callback()
        if content.get("event") == "select" and content.get("layer") in self.scene.layers:
            self._select(self.scene.layers[content["layer"]].layer, int(content["channel"]),
                         int(content["row"]), int(content["col"]))

    def _on_model_change(self, model, event, old, new):
        if event == "init":
            self._rebuild()
        elif event == "predict":
            self._refresh_textures()
        elif event == "weights":  # new weights, maybe no input yet: the kernels still follow
            if any([lm.kernels.refresh() for lm in self.scene.layers.values() if lm.kernels is not None]):
                self._request_frame()

    def _refresh_textures(self):
        if any([lm.refresh_texture() for lm in self.scene.layers.values()]):  # every one refreshed
            self._request_frame()

    def _request_frame(self):
        """Make the browser draw a frame after textures changed (one small message, no buffer):
        pythreejs redraws when a material changes, not when a texture inside its uniforms does,
        and the controller draws by itself only while it animates."""
        self.controller.redraw += 1

    def _sync_status_trait(self):
        self._syncing = True
        try:
            self.layer_status = {layer.name: layer.status for layer in self.model.layers}
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ camera and geometry
    def focus(self, name=None):
        """Ease the camera to frame layer ``name`` whole (open or not); ``None``: the whole model."""
        if name is not None and name not in self.scene.layers:
            raise ValueError(f"`name` {name!r} is not a drawn layer of {self.model.name!r}; drawn: "
                             f"{list(self.scene.layers)} (folded and hidden layers have no node).")
        with self.controller.hold_sync():
            self.controller.focus = name
            self.controller.camera_moved = False

    # ------------------------------------------------------------------ kernels
    def _kernel_layers(self):
        """Drawn layers that have one small kernel per output map (depthwise convolutions)."""
        return [name for name, lm in self.scene.layers.items() if hasattr(lm.layer, "source_channel")]

    def show_kernels(self, layer, show=True):
        """Draw (``show=False``: stop drawing) a depthwise layer's ``kh x kw`` kernels beside its
        open grid, one per output map in the same place in a smaller grid; they follow weight
        changes (``timeline``). ``layer`` is a drawn depthwise layer or its name."""
        name = getattr(layer, "name", layer)
        allowed = self._kernel_layers()
        if name not in allowed:
            raise ValueError(f"`layer` {name!r} has no kernels to draw: show_kernels takes a drawn "
                             f"DepthwiseConv2d layer of {self.model.name!r}, one of {allowed}.")
        if not isinstance(show, bool):
            raise TypeError(f"`show` must be True or False, got {show!r}.")
        shown = [n for n in self.kernels if n != name] + ([name] if show else [])
        self.kernels = tuple(n for n in allowed if n in shown)  # in model order

    @t.observe("kernels")
    def _on_kernels(self, change):
        self.scene.set_options(kernels=frozenset(change["new"]))
        self._rebuild()
        with self.kernels_toggle.hold_trait_notifications():
            self.kernels_toggle.value = bool(change["new"])

    def _on_kernels_toggle(self, change):
        if change["new"] != bool(self.kernels):
            self.kernels = tuple(self._kernel_layers()) if change["new"] else ()

    # ------------------------------------------------------------------ quiz
    def quiz(self, layer, channel=None, seed=None):
        """Predict, then reveal: hide ``layer``'s maps (it closes, a flat placeholder), and offer
        three candidate pictures for its map ``channel`` (default: one at random from ``seed``).
        Returns a :class:`tspwidget.quiz.Quiz` to display; a click on A/B/C (or
        ``quiz.answer(i)`` from Python) says whether it was right and opens the layer."""
        from .quiz import Quiz

        name = getattr(layer, "name", layer)
        if name not in self.scene.layers:
            raise ValueError(f"`layer` {name!r} is not a drawn layer of {self.model.name!r}; drawn: "
                             f"{list(self.scene.layers)}.")
        return Quiz(self, self.scene.layers[name].layer, channel=channel, seed=seed)

    def _set_placeholder(self, name, hidden):
        self.scene.hide_maps(name, hidden)
        self._request_frame()

    @property
    def focused(self):
        """The layer the camera frames (``None``: the whole model)."""
        return self.controller.focus

    def boxes(self):
        """World boxes ``(x0, y0, z0, x1, y1, z1)`` of every drawn layer's ``"maps"``, ``"label"``
        and ``"button"`` (None when closed), for the statuses as they will be once running
        animations end."""
        return self.scene.boxes()

    def screen_boxes(self):
        """``boxes()`` projected to this view's pixels ``(x0, y0, x1, y1)`` for the default
        camera (the one that frames the whole model), plus each label's ``"label_px"`` height."""
        return self.scene.screen_boxes()

    def _select(self, layer, channel, row, col):
        values = layer.neural_value
        info = {"layer": layer.name, "layer_type": layer.layer_type, "channel": channel,
                "row": row, "col": col}
        if isinstance(layer, DepthwiseConv2d):
            info["input_channel"] = layer.source_channel(channel)
        if values is not None:
            m = values[..., channel]
            with np.errstate(invalid="ignore"):
                info.update(value=float(m[row, col]), min=float(np.nanmin(m)) if np.isfinite(m).any() else float("nan"),
                            max=float(np.nanmax(m)) if np.isfinite(m).any() else float("nan"),
                            mean=float(np.mean(m)))
        folded = diagram.folded_values(self.scene.diagram, layer.name, channel, row, col)
        if folded:
            info["folded"] = folded
        self.selected = info
        self.info.value = self._info_text(info)
        if isinstance(layer, DepthwiseConv2d) and values is not None:
            self.inspect(layer, channel, row, col)
        self._select_callbacks(info)

    def inspect(self, layer, channel, row, col):
        """The arithmetic behind ``layer``'s output at ``(row, col)`` of ``channel``.

        Returns :func:`tspwidget.core.inspect.depthwise_breakdown`'s dict, shows it in the panel
        beside the scene with the layer's costs, and outlines the input window in 3D.
        """
        if isinstance(layer, str):
            layer = self.model.get_layer(layer)
        if not isinstance(layer, DepthwiseConv2d):
            raise TypeError(f"`layer` must be a DepthwiseConv2d, got {layer.name!r} ({layer.layer_type}).")
        breakdown = inspect.depthwise_breakdown(layer, channel, row, col)
        costs = inspect.conv_costs(layer.input_shape, layer.kernel_size,
                                   depth_multiplier=layer.depth_multiplier, strides=layer.strides,
                                   padding=layer.padding, dilation=layer.dilation,
                                   use_bias=layer.use_bias)
        self.panel.value = panel_html(breakdown, costs)
        self.panel.layout.display = None
        source = diagram.drawn_input(self.scene.diagram, layer)
        if source is not None:
            self.scene.highlight(source, breakdown["input_channel"], breakdown["input_rows"],
                                 breakdown["input_cols"])
            self._outlined_by = layer.name
        return breakdown

    # ------------------------------------------------------------------ your own input, training
    def predict(self, image):
        """Run the model on one picture and update every view of it; returns the model's output.

        ``image`` is ``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)`` (uint8 0..255 is scaled to 0..1,
        other values are kept). A picture of another size is resized to the model's input and an
        RGB one greyed for a one-channel model (a grey one repeated for an RGB model), each with a
        ``UserWarning`` saying what was done (:func:`tspwidget.drawing.prepare_image`). ``image`` is
        never modified. The textures change in place: the scene is not rebuilt.
        """
        return predict_image(self.model, image, "image")

    def drawing_pad(self, **options):
        """A :class:`tspwidget.DrawingPad` for this view's model (show it beside the view, e.g.
        ``ipywidgets.HBox([view.drawing_pad(), view])``); ``options`` as DrawingPad's."""
        return DrawingPad(self, **options)

    def timeline(self, checkpoints, epochs=None, **options):
        """A slider over training checkpoints (:class:`tspwidget.Timeline`): moving it copies that
        checkpoint's weights into this view's model and re-predicts the current input, so the maps
        change in place (no rebuild). ``checkpoints``: models of the same architecture or their
        ``get_weights()`` dicts, in order; ``epochs`` label them (default 0, 1, ...)."""
        return Timeline(self, checkpoints, epochs, **options)

    def save_html(self, path, title=None):
        """Write this view as one self-contained HTML page: no network and no kernel needed, and
        clicking layers open and shut still animates (see :mod:`tspwidget.export`)."""
        with progress_bar("exporting") as progress:
            if progress:
                progress(0, 2)
            page = to_html(self, title=title)  # collects every widget's state: the slow part
            if progress:
                progress(1, 2)
            Path(path).write_text(page, encoding="utf-8")
        return Path(path)

    def replace_model(self, model):
        """Show ``model`` in this view instead: in place when its drawn layers have the same names
        and shapes (the same 3D objects get the new maps and labels: nothing is rebuilt in the
        browser), else with a rebuilt scene. Layer statuses are the new model's own."""
        if not isinstance(model, core_model._BaseModel) or not model.is_initialized:
            raise TypeError(f"`model` must be an initialised tspwidget model, got {model!r}.")
        self._unwatch_layers()
        self.model.remove_observer(self._on_model_change)
        self.scene.clear_highlight()  # the inspected window belonged to the old model
        self._outlined_by = None
        self.panel.layout.display = "none"
        self.model = model
        self.scene.show_model(model)
        model.add_observer(self._on_model_change)
        self._watch_layers()
        self._push_scene()
        self._sync_status_trait()
        self._request_frame()

    def when_ready(self, callback):
        """Call ``callback()`` once, when a browser has drawn this view (its controller says so),
        e.g. to open a layer with its animation in sight; never without a browser."""
        self._ready_callbacks.append(callback)

    def on_select(self, callback, remove=False):
        """Call ``callback(selected_dict)`` whenever a feature map is clicked."""
        self._select_callbacks.register_callback(callback, remove=remove)

    _outlined_by = None  # the layer whose inspected window is outlined

    def _info_text(self, info):
        if info is None:
            return ("<span style='font-size:90%'>Click a closed layer to open it, the round X to "
                    "close it, a map to select it; drag to orbit, scroll to zoom, right-drag to "
                    "pan.</span>")
        parts = [f"<b>{html.escape(info['layer'])}</b> ({info['layer_type']})",
                 f"map {info['channel']}"]
        if "input_channel" in info:
            parts.append(f"from input channel {info['input_channel']}")
        parts.append(f"pixel (row {info['row']}, col {info['col']})")
        if "value" in info:
            parts.append(f"value {info['value']:.4g}; map min {info['min']:.4g}, "
                         f"max {info['max']:.4g}, mean {info['mean']:.4g}")
        for name, value in info.get("folded", {}).items():
            parts.append(f"after {html.escape(name)}: {value:.4g}")
        return " · ".join(parts)

    def close(self):
        """Stop following the model, then close the widget and its children."""
        if getattr(self, "model", None) is not None:  # also called by __del__ of a failed init
            self._unwatch_layers()
            self.model.remove_observer(self._on_model_change)
        if getattr(self, "scene", None) is not None:
            self.scene.close()
            self.controller.close()
            self.info.close()
        super().close()


def export_html(model, path, title=None, **view_options):
    """Build a ``ModelView`` of ``model`` with ``view_options`` and save it as one self-contained
    HTML page (:func:`tspwidget.export.save_html`); returns its ``Path``."""
    view = ModelView(model, **view_options)
    try:
        return save_html(view, path, title=title)
    finally:
        view.close()
