"""Models: a Sequential stack or a functional graph of layers, with init / predict / summary.

The core's models compute only; ``tspwidget.Model`` and ``tspwidget.Sequential`` (tspwidget/models.py)
add what needs more than numpy: showing them and reading weights from files.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from . import inference
from ._validation import as_float_array, as_int, as_positive_number
from .colors import to_hex
from .events import Observable
from .layers.base import Layer, NotInitializedError, layer_class

_model_counters = defaultdict(lambda: itertools.count(1))


def _as_model_color(value):
    """``None``, one colour for every layer, or ``{layer_type: colour}``."""
    if value is None:
        return None
    if isinstance(value, dict):
        from .layers import base  # the registry of known types is the set of Layer subclasses

        known = {cls.layer_type for cls in _subclasses(base.Layer)}
        out = {}
        for key, colour in value.items():
            if key not in known:
                raise ValueError(
                    f"`color` keys must be layer types ({', '.join(sorted(known))}), got {key!r}."
                )
            out[key] = to_hex(colour, f"color[{key!r}]")
        return out
    return to_hex(value)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


class _BaseModel(Observable):
    """What Sequential and Model share. Observers hear ``"init"`` and ``"predict"`` events."""

    _name_prefix = "model"

    def __init__(self, *, name=None, color=None, anime_time=None):
        super().__init__()
        self.name = name if name is not None else (
            f"{self._name_prefix}_{next(_model_counters[self._name_prefix])}")
        if not isinstance(self.name, str):
            raise TypeError(f"`name` must be a string, got {name!r}.")
        self._color = _as_model_color(color)
        self._anime_time = None if anime_time is None else as_positive_number(anime_time, "anime_time")
        self._layers = []
        self._inputs = []
        self._outputs = []
        self._initialized = False
        self._plan = None  # predict's fused steps (core/inference.py), made at the first predict

    def __repr__(self):
        state = "initialised" if self._initialized else "not initialised"
        return f"<{type(self).__name__} {self.name!r}: {len(self._layers)} layers, {state}>"

    # ------------------------------------------------------------------ weights and config
    def get_weights(self):
        """``{layer name: {role: array}}`` of every layer with weights (see Layer.get_weights)."""
        return {layer.name: w for layer in self._layers if (w := layer.get_weights())}

    def set_weights(self, weights):
        """Give weights as ``{layer name: {role: array}}`` (as :meth:`get_weights` returns).

        Every name must be a layer of this model and every layer checks its roles and shapes,
        all before anything is set: a wrong one changes nothing. Returns the model.
        """
        if not isinstance(weights, dict):
            raise TypeError(f"`weights` must be a dict {{layer name: {{role: array}}}}, got "
                            f"{type(weights).__name__}.")
        checked = [(layer, layer._checked_weights(weights[name]))
                   for name, layer in ((n, self.get_layer(n)) for n in weights)]
        for layer, arrays in checked:
            layer._store_weights(arrays)
        return self

    def get_config(self):
        """The model as data, Keras style: ``{"name", "layers": [{"class_name", "config",
        "inbound"}], "inputs", "outputs"}`` (no weights); :meth:`from_config` rebuilds it."""
        return {
            "name": self.name,
            "layers": [{"class_name": type(layer).__name__, "config": layer.get_config(),
                        "inbound": [p.name for p in layer._inbound]} for layer in self._layers],
            "inputs": [layer.name for layer in self._inputs],
            "outputs": [layer.name for layer in self._outputs],
        }

    @classmethod
    def from_config(cls, config):
        """A new, uninitialised model from :meth:`get_config`'s dict (not modified)."""
        made = {}
        for item in config["layers"]:
            layer = layer_class(item["class_name"]).from_config(dict(item["config"]))
            inbound = [made[name] for name in item.get("inbound", [])]
            if inbound and not issubclass(cls, Sequential):
                layer.apply(inbound if len(inbound) > 1 else inbound[0])
            made[layer.name] = layer
        if issubclass(cls, Sequential):
            return cls(list(made.values()), name=config.get("name"))
        return cls([made[n] for n in config["inputs"]], [made[n] for n in config["outputs"]],
                   name=config.get("name"))

    # ------------------------------------------------------------------ display options
    @property
    def color(self):
        """Model-wide colour(s): ``None``, ``"#RRGGBB"`` or ``{layer_type: "#RRGGBB"}``."""
        return dict(self._color) if isinstance(self._color, dict) else self._color

    @color.setter
    def color(self, value):
        old = [layer.color for layer in self._layers]
        self._color = _as_model_color(value)
        for layer, before in zip(self._layers, old):
            if layer.color != before:
                layer._notify("color", before, layer.color)

    def _color_for(self, layer_type):
        if isinstance(self._color, dict):
            return self._color.get(layer_type)
        return self._color

    @property
    def anime_time(self):
        """Model-wide animation time in ms (None: layers use 2000 unless they set their own)."""
        return self._anime_time

    @anime_time.setter
    def anime_time(self, value):
        old = [layer.anime_time for layer in self._layers]
        self._anime_time = None if value is None else as_positive_number(value, "anime_time")
        for layer, before in zip(self._layers, old):
            if layer.anime_time != before:
                layer._notify("anime_time", before, layer.anime_time)

    # ------------------------------------------------------------------ layers
    @property
    def layers(self):
        """All layers, inputs first, each after the layers it depends on."""
        return list(self._layers)

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    def get_layer(self, name):
        """The layer called ``name``."""
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"no layer named {name!r} in {self.name!r}; its layers are "
            f"{[layer.name for layer in self._layers]}."
        )

    def _check_ownership(self, layers):
        """Refuse layers of another model and duplicate names (before anything changes)."""
        names = {}
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"expected a tspwidget layer, got {layer!r}.")
            if layer._model is not None and layer._model is not self:
                raise ValueError(
                    f"layer {layer.name!r} already belongs to model {layer._model.name!r}; "
                    f"a layer can be shown in one model only."
                )
            if layer.name in names and names[layer.name] is not layer:
                raise ValueError(
                    f"two layers are named {layer.name!r}: layer names must be unique in a model."
                )
            names[layer.name] = layer

    @property
    def is_initialized(self):
        return self._initialized

    def _invalidate(self):
        self._initialized = False
        self._plan = None
        for layer in self._layers:
            layer._unbuild()

    # ------------------------------------------------------------------ init / predict
    def build(self):
        """Work out every layer's shapes, drawing no weights (``weight_shapes()`` then works).

        The model is not initialised afterwards (``predict`` needs ``init()``). Returns it.
        """
        self._build_layers(None)
        return self

    def init(self, seed=None):
        """Work out every layer's shapes and draw the weights that were not given.

        ``seed`` (an int >= 0) makes the drawn weights reproducible. Returns the model.
        """
        if seed is not None:
            seed = as_int(seed, "seed", minimum=0)
        self._build_layers(np.random.default_rng(seed))
        self._initialized = True
        self._notify("init", None, None)
        return self

    def _build_layers(self, rng):
        """Shapes of every layer, and with an ``rng`` their weights; all or nothing."""
        if not self._layers:
            raise ValueError(f"model {self.name!r} has no layers: add an input layer first.")
        self._invalidate()
        current = None
        try:
            for current in self._layers:
                shapes = [p._output_shape for p in current._inbound]
                current._output_shape = current._build(shapes)
                if rng is not None:
                    current._init_weights(rng)
        except (ValueError, TypeError) as err:
            self._invalidate()
            raise type(err)(
                f"layer {current.name!r} ({current.layer_type}): {err}"
            ) from err

    def _split_inputs(self, x):
        """Map ``x`` to one float32 batch per input layer; also says whether x was batched."""
        if len(self._inputs) == 1:
            arrays = [x]
        elif isinstance(x, dict):
            missing = [layer.name for layer in self._inputs if layer.name not in x]
            if missing or len(x) != len(self._inputs):
                raise ValueError(
                    f"`x` as a dict must have exactly the input names "
                    f"{[layer.name for layer in self._inputs]}, got {list(x)}."
                )
            arrays = [x[layer.name] for layer in self._inputs]
        elif isinstance(x, (list, tuple)) and len(x) == len(self._inputs):
            arrays = list(x)
        else:
            raise ValueError(
                f"model {self.name!r} has {len(self._inputs)} inputs: pass `x` as a list of "
                f"{len(self._inputs)} arrays or a dict by input name."
            )
        batches, batched = [], set()
        for layer, arr in zip(self._inputs, arrays):
            arr = as_float_array(arr, "x")
            h, w, c = layer.shape
            if arr.ndim not in (3, 4) or arr.shape[-3:] != (h, w, c) or 0 in arr.shape:
                raise ValueError(
                    f"`x` for input {layer.name!r} must have shape ({h}, {w}, {c}) or "
                    f"(N, {h}, {w}, {c}), got shape {arr.shape}."
                )
            batched.add(arr.ndim == 4)
            batches.append((arr if arr.ndim == 4 else arr[None]).astype(np.float32, copy=False))
        if len(batched) > 1 or len({b.shape[0] for b in batches}) > 1:
            shapes = [np.shape(a) for a in arrays]
            raise ValueError(f"`x`: every input must have the same batch size (or all be single "
                             f"samples), got shapes {shapes}.")
        return batches, batched.pop()

    def predict(self, x, *, fuse=True):
        """Run the model on one sample ``(h, w, c)`` or a batch ``(N, h, w, c)``.

        Returns the output with the same batch-ness (a list for several outputs) and fills every
        layer's ``neural_value`` with its output for the first sample. ``x`` is not modified.
        With ``fuse`` (the default) BatchNorm is folded into the convolution before it and
        activations run in place (see ``core/inference.py``); the layers inside such a chain get
        their values unfused, when first asked for. ``fuse=False`` runs every layer as it is.
        """
        if not self._initialized:
            raise NotInitializedError(
                f"model {self.name!r} is not initialised: call model.init() before predict()."
            )
        if not isinstance(fuse, bool):
            raise TypeError(f"`fuse` must be True or False, got {fuse!r}.")
        batches, batched = self._split_inputs(x)
        for layer in self._layers:  # the old values go first: a chain reuses an array no one holds
            layer._set_value(None)
        values = dict(zip((id(layer) for layer in self._inputs), batches))
        for step in self._steps(fuse):
            values[id(step.output)] = step.run(values)
        single = batches[0].shape[0] == 1
        for layer in self._layers:
            value = values.get(id(layer))
            if value is None:
                layer._defer_value()
            elif single and not layer.is_input:
                view = value[0]  # ours alone: a read-only view saves copying every layer
                view.flags.writeable = False
                layer._set_value(view)
            else:
                layer._set_value(np.array(value[0]))  # own copy: never the user's array
        results = [values[id(layer)] if batched else values[id(layer)][0] for layer in self._outputs]
        self._notify("predict", None, None)
        return results[0] if len(results) == 1 else results

    def _steps(self, fuse):
        if not fuse:
            return [inference.Step(layer) for layer in self._layers if not layer.is_input]
        if self._plan is None:
            self._plan = inference.plan(self._layers, self._outputs)
        return self._plan

    # ------------------------------------------------------------------ summary
    def summary(self, print_fn=print):
        """Print a table of layers: name, type, output shape, parameters and configuration."""
        rows = [("Layer", "Type", "Output shape", "Params", "Config")]
        total = 0
        for layer in self._layers:
            shape = str(layer._output_shape) if layer.is_built else "? (call init())"
            params = layer.param_count if layer.is_built else None
            total += params or 0
            rows.append((layer.name, layer.layer_type, shape,
                         "?" if params is None else f"{params:,}", layer.config_text))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [f'{type(self).__name__} "{self.name}"']
        for i, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
            if i == 0:
                lines.append("-" * len(lines[-1]))
        lines.append(f"Total params: {total:,}" if self._initialized else "Total params: ?")
        print_fn("\n".join(lines))


class Sequential(_BaseModel):
    """A stack of layers, each fed by the one before: ``Sequential([RGBInput(...), ...])``."""

    _name_prefix = "sequential"

    def __init__(self, layers=None, *, name=None, color=None, anime_time=None):
        super().__init__(name=name, color=color, anime_time=anime_time)
        for layer in layers or ():
            self.add(layer)

    def add(self, layer):
        """Append ``layer``; the first layer must be an input, the others must not."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add() takes a tspwidget layer, got {layer!r}.")
        if not self._layers and not layer.is_input:
            raise ValueError(
                f"the first layer of a Sequential must be an input (GreyscaleInput, RGBInput or "
                f"Input3d), got {layer.layer_type} {layer.name!r}."
            )
        if self._layers and layer.is_input:
            raise ValueError(f"a Sequential has one input; {layer.name!r} cannot be added after it.")
        if layer in self._layers:
            raise ValueError(f"layer {layer.name!r} is already in this model.")
        self._check_ownership([*self._layers, layer])
        if layer._inbound:
            raise ValueError(
                f"layer {layer.name!r} was applied to {[p.name for p in layer._inbound]}; "
                f"use it in a functional Model, or add a fresh layer."
            )
        layer._model = self
        if self._layers:
            layer._inbound = [self._layers[-1]]
        else:
            self._inputs = [layer]
        self._layers.append(layer)
        self._outputs = [layer]
        self._invalidate()
        return self


class Model(_BaseModel):
    """A functional model: ``Model(inputs=inp, outputs=out)`` over layers linked by ``apply``."""

    _name_prefix = "model"

    def __init__(self, inputs, outputs, *, name=None, color=None, anime_time=None):
        super().__init__(name=name, color=color, anime_time=anime_time)
        self._inputs = self._as_layer_list(inputs, "inputs")
        self._outputs = self._as_layer_list(outputs, "outputs")
        for layer in self._inputs:
            if not layer.is_input:
                raise ValueError(
                    f"`inputs` must be input layers, got {layer.layer_type} {layer.name!r}."
                )
        ordered = self._topological_order()
        self._check_ownership(ordered)
        for layer in ordered:
            layer._model = self
        self._layers = ordered

    @staticmethod
    def _as_layer_list(value, name):
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if not items:
            raise ValueError(f"`{name}` must name at least one layer.")
        for item in items:
            if not isinstance(item, Layer):
                raise TypeError(f"`{name}` must be a layer or a list of layers, got {item!r}.")
        if len({id(i) for i in items}) != len(items):
            raise ValueError(f"`{name}` lists the same layer twice.")
        return items

    def _topological_order(self):
        """Layers from the inputs to the outputs, each after everything it depends on."""
        needed = {}
        for out in self._outputs:
            for layer in [out, *out.ancestors()]:
                needed[id(layer)] = layer
        input_ids = {id(layer) for layer in self._inputs}
        for layer in needed.values():
            if not layer._inbound and id(layer) not in input_ids:
                raise ValueError(
                    f"layer {layer.name!r} feeds the outputs but is not connected to any of "
                    f"`inputs` {[i.name for i in self._inputs]} (did you forget apply()?)."
                )
        unused = [layer.name for layer in self._inputs if id(layer) not in needed]
        if unused:
            raise ValueError(f"`inputs` {unused} do not lead to any of `outputs`.")
        order, placed = [], set()
        # Depth-first from each output; `apply` refuses cycles, so this terminates.
        def visit(layer):
            if id(layer) in placed:
                return
            for prev in layer._inbound:
                visit(prev)
            placed.add(id(layer))
            order.append(layer)
        for layer in self._inputs:
            visit(layer)
        for out in self._outputs:
            visit(out)
        return order
