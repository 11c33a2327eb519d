"""The generic layer: visual options, topology, shapes and status. A new type is one small class.

A subclass declares ``layer_type``, ``default_color`` and ``_name_prefix`` and implements

* ``_build(input_shapes) -> output_shape`` (checks the configuration against the input),
* ``_forward(inputs) -> output`` on batches ``(N, H, W, C)``,
* ``param_count`` and ``config_text`` (what the summary and labels show),
* for layers with weights: ``weight_roles``, ``weight_shapes()``, ``_weights_in_use()`` and
  ``_init_weights(rng)`` (the public ``get_weights`` / ``set_weights`` are built on them).

``get_config()`` reads the constructor's arguments back from attributes of the same name, so a
new layer type round-trips through ``from_config`` without code of its own.
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections import defaultdict

import numpy as np

from .._validation import as_choice, as_float_array, as_positive_number
from ..colors import to_hex
from ..events import Observable

STATUSES = ("open", "close")
CLOSE_BUTTON_DEFAULTS = {"display": True, "ratio": 1}
DEFAULT_ANIME_TIME = 2000  # ms, TensorSpace's model default (ModelConfiguration.js)

_VISUAL_ARGS = ("name", "color", "close_button", "init_status", "anime_time")
WEIGHT_ARGS = ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance")
_name_counters = defaultdict(lambda: itertools.count(1))
_registry = {}  # class name (and aliases) -> layer class, for from_config


class NotInitializedError(ValueError, RuntimeError):
    """A value that only exists after ``model.init()`` was asked for too early."""


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def reject_unknown_kwargs(owner, kwargs, allowed):
    """Raise TypeError for unexpected keyword arguments, pointing camelCase users to our names."""
    for key in kwargs:
        snake = _snake(key)
        if snake != key and snake in allowed:
            raise TypeError(
                f"{owner}() got TensorSpace's camelCase argument {key!r}: "
                f"tspwidget uses Python names, write {snake}=... instead."
            )
        raise TypeError(
            f"{owner}() got an unexpected keyword argument {key!r}. "
            f"Allowed: {', '.join(sorted(allowed))}."
        )


def visual_options(owner, kwargs, own_args):
    """Return the visual options in ``kwargs``; anything else is an error naming ``owner``."""
    extra = {k: v for k, v in kwargs.items() if k not in _VISUAL_ARGS}
    if extra:
        reject_unknown_kwargs(owner, extra, (*own_args, *_VISUAL_ARGS))
    return kwargs


def as_close_button(value):
    """Validate a ``close_button`` dict and fill in the defaults (display True, ratio 1)."""
    if value is None:
        return dict(CLOSE_BUTTON_DEFAULTS)
    if not isinstance(value, dict):
        raise TypeError(
            f"`close_button` must be a dict with keys 'display' (bool) and 'ratio' (number > 0), "
            f"got {value!r}."
        )
    unknown = set(value) - set(CLOSE_BUTTON_DEFAULTS)
    if unknown:
        raise ValueError(
            f"`close_button` has unknown key(s) {sorted(map(str, unknown))}; "
            f"allowed keys are 'display' and 'ratio'."
        )
    merged = {**CLOSE_BUTTON_DEFAULTS, **value}
    if not isinstance(merged["display"], bool):
        raise TypeError(
            f"`close_button['display']` must be True or False, got {merged['display']!r}."
        )
    as_positive_number(merged["ratio"], "close_button['ratio']")
    return merged


def as_weights(value, name, ndim=None):
    """A read-only float32 copy of a user's weight array (their array is never touched)."""
    arr = as_float_array(value, name)
    if (ndim is not None and arr.ndim != ndim) or 0 in arr.shape:
        expected = {4: "(kh, kw, C, M)", 2: "(inputs, units)", 1: "(n,)"}.get(ndim, "non-empty")
        raise ValueError(f"`{name}` must be a non-empty array of shape {expected}, got {arr.shape}.")
    # C order: a loader's transposed view (ONNX's OIHW as HWIO) would otherwise stay strided,
    # and every product over it would copy it first (measured: 3x3x512x512 conv 8.6 -> 4 ms).
    arr = np.array(arr, dtype=np.float32, order="C")
    arr.flags.writeable = False
    return arr


def require_image(layer, shape):
    """``shape`` if it is ``(h, w, c)``; layers that slide a window need one."""
    if len(shape) != 3:
        raise ValueError(
            f"{layer.layer_type} needs an (h, w, c) input, got shape {shape} "
            f"(add a Reshape layer first?)."
        )
    return shape


def as_name(value):
    if not isinstance(value, str):
        raise TypeError(f"`name` must be a string, got {value!r}.")
    if not value.strip():
        raise ValueError(f"`name` must be a non-empty string, got {value!r}.")
    return value


def layer_class(class_name):
    """The layer class registered as ``class_name`` (``"DepthwiseConv2D"`` is an alias)."""
    if class_name not in _registry:
        raise ValueError(f"unknown layer class {class_name!r}; known: {', '.join(sorted(_registry))}.")
    return _registry[class_name]


class Layer(Observable):
    """Base of every layer. See the module docstring for what a subclass provides."""

    layer_type = "Layer"
    default_color = "#FFFFFF"
    _name_prefix = "layer"
    is_input = False
    is_rgb = False  # whose three channels are one colour picture (drawn in colour, not as maps)
    fold_host = False  # a view may draw the BatchNorm/activation/padding after it inside its node
    fold_label = None  # how this layer is listed when folded into its host (None: never folded)
    fold_forward = False  # folded into the one layer it feeds (a padding), not the one before it
    keras_class = None  # the Keras class this layer reads weights of (files name weights by it)
    weight_roles = ()  # the weights this layer's configuration uses, in Keras's storage order

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Our own classes only, first come: a user's subclass never shadows a built-in name.
        if not cls.__name__.startswith("_") and cls.__module__.startswith("tspwidget."):
            _registry.setdefault(cls.__name__, cls)

    def __init__(
        self, *, name=None, color=None, close_button=None, init_status="close", anime_time=None
    ):
        super().__init__()
        self.name = as_name(name) if name is not None else self._auto_name()
        self._color = None if color is None else to_hex(color)
        self._close_button = as_close_button(close_button)
        self.init_status = as_choice(init_status, "init_status", STATUSES)
        self._status = self.init_status
        self._anime_time = None if anime_time is None else as_positive_number(anime_time, "anime_time")
        self._inbound = []
        self._model = None
        self._input_shape = None
        self._output_shape = None
        self._neural_value = None
        self._deferred = None  # computes the neural value on first use (see core/inference.py)

    @classmethod
    def _auto_name(cls):
        return f"{cls._name_prefix}_{next(_name_counters[cls._name_prefix])}"

    def __repr__(self):
        shape = self._output_shape if self._output_shape is not None else "?"
        return f"<{self.layer_type} {self.name!r} output_shape={shape} status={self._status!r}>"

    # ------------------------------------------------------------------ visual options
    @property
    def color(self):
        """Colour as ``"#RRGGBB"``: the layer's own, else the model's, else the type's default."""
        if self._color is not None:
            return self._color
        if self._model is not None:
            inherited = self._model._color_for(self.layer_type)
            if inherited is not None:
                return inherited
        return self.default_color

    @color.setter
    def color(self, value):
        old = self.color
        self._color = None if value is None else to_hex(value)
        self._notify("color", old, self.color)

    @property
    def close_button(self):
        """``{"display": bool, "ratio": number}``; a copy, so assign a new dict to change it."""
        return dict(self._close_button)

    @close_button.setter
    def close_button(self, value):
        old = self.close_button
        self._close_button = as_close_button(value)
        self._notify("close_button", old, self.close_button)

    @property
    def anime_time(self):
        """Open/close animation time in ms: the layer's own, else the model's, else 2000."""
        if self._anime_time is not None:
            return self._anime_time
        if self._model is not None and self._model.anime_time is not None:
            return self._model.anime_time
        return DEFAULT_ANIME_TIME

    @anime_time.setter
    def anime_time(self, value):
        old = self.anime_time
        self._anime_time = None if value is None else as_positive_number(value, "anime_time")
        self._notify("anime_time", old, self.anime_time)

    # ------------------------------------------------------------------ status
    @property
    def status(self):
        """``"open"`` (one map per channel) or ``"close"`` (one aggregate map)."""
        return self._status

    def _set_status(self, status):
        if status != self._status:
            old, self._status = self._status, status
            self._notify("status", old, status)

    def open_layer(self):
        """Show every feature map; does nothing if the layer is already open."""
        self._set_status("open")

    def close_layer(self):
        """Show the aggregate map; does nothing if the layer is already closed."""
        self._set_status("close")

    # ------------------------------------------------------------------ topology
    def apply(self, previous):
        """Feed ``previous`` (a layer) into this layer, for a functional ``Model``; returns self."""
        if not isinstance(previous, Layer):
            raise TypeError(
                f"{self.layer_type}.apply() takes the previous layer, got {previous!r}."
            )
        self._check_can_connect([previous])
        self._inbound = [previous]
        return self

    def _check_can_connect(self, previous):
        if self.is_input:
            raise ValueError(f"{self.layer_type} {self.name!r} is an input and takes no inputs.")
        if self._inbound and self._inbound != list(previous):
            raise ValueError(
                f"layer {self.name!r} is already applied to "
                f"{[p.name for p in self._inbound]}; a layer has one place in a model."
            )
        for prev in previous:
            if prev is self or self in prev.ancestors():
                raise ValueError(
                    f"applying {self.name!r} to {prev.name!r} would make a cycle: "
                    f"{prev.name!r} already depends on {self.name!r}."
                )

    @property
    def inbound_layers(self):
        """The layers feeding this one (a copy)."""
        return list(self._inbound)

    def ancestors(self):
        """Every layer this one depends on, directly or not."""
        seen, stack = set(), list(self._inbound)
        found = []
        while stack:
            layer = stack.pop()
            if id(layer) not in seen:
                seen.add(id(layer))
                found.append(layer)
                stack.extend(layer._inbound)
        return found

    # ------------------------------------------------------------------ shapes and values
    def _require_built(self, what):
        if self._output_shape is None:
            raise NotInitializedError(
                f"{what} of {self.layer_type} {self.name!r} is known only after the model is "
                f"initialised: add the layer to a model and call model.init() first."
            )

    @property
    def input_shape(self):
        """``(h, w, c)`` of the input (a tuple; a list of them for merge layers)."""
        self._require_built("input_shape")
        return self._input_shape

    @property
    def output_shape(self):
        """``(h, w, c)`` of the output, channel last."""
        self._require_built("output_shape")
        return self._output_shape

    @property
    def neural_value(self):
        """This layer's output for the sample on display (the first of the last batch predicted)."""
        if self._deferred is not None:
            compute, self._deferred = self._deferred, None
            self._neural_value = compute()
        return self._neural_value

    def _set_value(self, value):
        self._neural_value, self._deferred = value, None

    def _defer_value(self):
        """After a fused predict: this layer's value is its own ``_forward`` of its inputs' values
        (the first sample), computed when first asked for."""
        def compute():
            return self._forward([p.neural_value[None] for p in self._inbound])[0]
        self._neural_value, self._deferred = None, compute

    @property
    def is_built(self):
        return self._output_shape is not None

    def _unbuild(self):
        """Forget everything ``init()`` derived (shapes, drawn weights, values)."""
        self._input_shape = self._output_shape = self._neural_value = self._deferred = None

    @property
    def is_spatial(self):
        """Whether the output is a picture ``(h, w, c)`` (drawn as feature maps), not a vector."""
        return len(self.output_shape) == 3

    @property
    def channel_group(self):
        """How many consecutive output maps come from one input channel (kept together when
        open): 1 unless a layer maps channels one-to-many (``DepthwiseConv2d``, which also has
        ``source_channel(c)``; other layers have no such method: every input feeds each map)."""
        return 1

    # ------------------------------------------------------------------ weights
    def weight_shapes(self):
        """``{role: shape}`` of the weights this built layer uses (empty for layers without)."""
        self._require_built("weight_shapes()")
        return {}

    def get_weights(self):
        """``{role: read-only float32 array}``: after ``init()`` the weights in use, before it
        the ones given (``set_weights`` or constructor arguments)."""
        return {k: v for k, v in self._weights_in_use().items() if v is not None}

    def set_weights(self, weights):
        """Give this layer's weights as ``{role: array}`` (any subset of ``weight_roles``).

        The arrays are copied; shapes are checked now when the layer is built, else at
        ``init()``. They are kept by later ``init()`` calls (not redrawn). Nothing changes if
        any role or shape is wrong. Returns the layer.
        """
        self._store_weights(self._checked_weights(weights))
        return self

    def _checked_weights(self, weights):
        """``weights`` as read-only float32 copies, each role and (if built) shape checked."""
        if not isinstance(weights, dict):
            raise TypeError(f"layer {self.name!r}: set_weights() takes a dict {{role: array}}, "
                            f"got {type(weights).__name__}.")
        unknown = [r for r in weights if r not in self.weight_roles]
        if unknown:
            raise ValueError(f"layer {self.name!r} ({self.layer_type}) has no weight(s) {unknown}; "
                             f"its weights are {list(self.weight_roles) or 'none'}.")
        arrays = {role: as_weights(value, role) for role, value in weights.items()}
        if self.is_built:
            expected = self.weight_shapes()
            for role, arr in arrays.items():
                if arr.shape != expected[role]:
                    raise ValueError(f"layer {self.name!r}: `{role}` has shape {arr.shape}, but "
                                     f"this layer needs {expected[role]}.")
        return arrays

    def _weights_in_use(self):
        return {}

    def _store_weights(self, arrays):
        """Keep ``arrays`` as given weights, and put them in use if ``init()`` already ran."""
        raise NotImplementedError  # only reached by layers that declare weight_roles

    # ------------------------------------------------------------------ configuration
    def get_config(self):
        """The constructor arguments that rebuild this layer (no weights), Keras style:
        ``type(layer).from_config(layer.get_config())`` is an equal, unbuilt layer."""
        config = {"name": self.name}
        for arg in inspect.signature(type(self).__init__).parameters.values():
            if arg.name in ("self", "name") or arg.name in WEIGHT_ARGS or arg.kind in (
                    arg.VAR_KEYWORD, arg.VAR_POSITIONAL):
                continue
            config[arg.name] = getattr(self, arg.name)
        own = {"color": self._color, "anime_time": self._anime_time,
               "close_button": None if self._close_button == CLOSE_BUTTON_DEFAULTS
               else dict(self._close_button),
               "init_status": None if self.init_status == "close" else self.init_status}
        config.update({k: v for k, v in own.items() if v is not None})
        return config

    @classmethod
    def from_config(cls, config):
        """A new layer from :meth:`get_config`'s dict (the dict is not modified)."""
        if not isinstance(config, dict):
            raise TypeError(f"{cls.__name__}.from_config() takes a dict, got {config!r}.")
        return cls(**config)

    # ------------------------------------------------------------------ subclass hooks
    def _build(self, input_shapes):
        raise NotImplementedError

    def _init_weights(self, rng):
        """Draw missing weights (layers without weights have nothing to do)."""

    def _forward(self, inputs):
        raise NotImplementedError

    @property
    def param_count(self):
        return 0

    @property
    def config_text(self):
        """A short description of the configuration, e.g. ``"3x3 s1 same x2"``."""
        return ""


class KernelBias:
    """Mixin for a ``kernel`` and (with ``use_bias``) a ``bias``: conv and dense layers.

    The host keeps ``_given_kernel``/``_given_bias`` (set by the user) and ``_kernel``/``_bias``
    (in use after ``init()``), and says its kernel shape with ``_kernel_shape()``.
    """

    @property
    def weight_roles(self):
        return ("kernel", "bias") if self.use_bias else ("kernel",)

    def weight_shapes(self):
        self._require_built("weight_shapes()")
        shapes = {"kernel": tuple(self._kernel_shape())}
        if self.use_bias:
            shapes["bias"] = (self._output_shape[-1],)
        return shapes

    def _weights_in_use(self):
        return {"kernel": self.kernel, "bias": self.bias}

    def _store_weights(self, arrays):
        for role, arr in arrays.items():
            setattr(self, f"_given_{role}", arr)
            if getattr(self, f"_{role}") is not None:  # in use since init()
                setattr(self, f"_{role}", arr)
