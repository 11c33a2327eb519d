"""Layers that keep their input's shape: activation, batch normalisation, rescaling, dropout,
and zero padding (which only grows the picture)."""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import as_int
from ..activations import activate, as_activation, relu
from .base import Layer, as_weights, require_image, visual_options


def _as_number(value, name, *, allow_none=False, minimum=None):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"`{name}` must be a finite number, got {value!r}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value!r}.")
    return float(value)


class _SameShape(Layer):
    default_color = "#FC5C9C"  # TensorSpace's activation colour

    def _build(self, input_shapes):
        (self._input_shape,) = input_shapes
        return self._input_shape


class Activation(_SameShape):
    """An activation as a layer of its own (Keras ``Activation`` and ``ReLU``).

    ``max_value``, ``negative_slope`` and ``threshold`` are the ``ReLU`` layer's options and need
    ``activation="relu"``.
    """

    layer_type = "Activation"
    _name_prefix = "activation"

    @property
    def fold_label(self):
        if self.activation == "relu" and self.max_value == 6:
            return "ReLU6"
        return {"relu": "ReLU", "relu6": "ReLU6"}.get(self.activation, self.activation)

    def __init__(self, activation="relu", *, max_value=None, negative_slope=0.0, threshold=0.0,
                 **options):
        super().__init__(**visual_options("Activation", options, (
            "activation", "max_value", "negative_slope", "threshold")))
        self.activation = as_activation(activation)
        self.max_value = _as_number(max_value, "max_value", allow_none=True, minimum=0)
        self.negative_slope = _as_number(negative_slope, "negative_slope", minimum=0)
        self.threshold = _as_number(threshold, "threshold")
        custom = (self.max_value, self.negative_slope, self.threshold) != (None, 0.0, 0.0)
        if custom and self.activation != "relu":
            raise ValueError(f"`max_value`, `negative_slope` and `threshold` need "
                             f"activation='relu', got activation={self.activation!r}.")

    def _forward(self, inputs):
        return self._apply(inputs[0], in_place=False)

    def apply_in_place(self, x):
        """The activation of ``x``, computed in ``x``'s own buffer where it can be (the result
        is returned: some activations need a new array)."""
        return self._apply(x, in_place=True)

    def _apply(self, x, in_place):
        if self.activation != "relu":
            return activate(x if in_place else x.copy(), self.activation)
        if self.negative_slope == 0 and self.threshold == 0:
            return relu(x, max_value=self.max_value, out=x if in_place else None)
        return relu(x, max_value=self.max_value, negative_slope=self.negative_slope,
                    threshold=self.threshold)

    @property
    def config_text(self):
        return self.activation


class BatchNorm(_SameShape):
    """Batch normalisation with fixed statistics (inference), over the last axis.

    ``(x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta``; any statistic not
    given starts at Keras's initial value (mean 0, variance 1, gamma 1, beta 0). As in Keras,
    ``scale=False`` drops ``gamma`` (fixed at 1) and ``center=False`` drops ``beta`` (fixed at 0)
    from the layer's weights.
    """

    layer_type = "BatchNorm"
    keras_class = "BatchNormalization"
    fold_label = "BN"
    default_color = "#A5A5A5"
    _name_prefix = "batch_norm"
    _STATS = ("gamma", "beta", "moving_mean", "moving_variance")
    _INITIAL = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}

    def __init__(self, *, epsilon=1e-3, scale=True, center=True, gamma=None, beta=None,
                 moving_mean=None, moving_variance=None, **options):
        super().__init__(**visual_options("BatchNorm", options, (
            "epsilon", "scale", "center", *self._STATS)))
        self.epsilon = _as_number(epsilon, "epsilon", minimum=0)
        for flag, value in (("scale", scale), ("center", center)):
            if not isinstance(value, bool):
                raise TypeError(f"`{flag}` must be True or False, got {value!r}.")
        self.scale, self.center = scale, center
        given = dict(gamma=gamma, beta=beta, moving_mean=moving_mean, moving_variance=moving_variance)
        for role, flag in (("gamma", "scale"), ("beta", "center")):
            if given[role] is not None and not getattr(self, flag):
                raise ValueError(f"`{role}` was given but {flag}=False; drop one of them.")
        self._given = {k: as_weights(v, k, 1) for k, v in given.items() if v is not None}
        self._stats = None

    def _stat(name):  # noqa: N805 - a property factory used in the class body
        return property(lambda self: (self._stats or self._given).get(name),
                        doc=f"``{name}`` (read-only; after init the value in use).")

    gamma, beta = _stat("gamma"), _stat("beta")
    moving_mean, moving_variance = _stat("moving_mean"), _stat("moving_variance")
    del _stat

    @property
    def weight_roles(self):
        return tuple(r for r in self._STATS
                     if (r != "gamma" or self.scale) and (r != "beta" or self.center))

    def weight_shapes(self):
        self._require_built("weight_shapes()")
        return {role: (self._output_shape[-1],) for role in self.weight_roles}

    def _weights_in_use(self):
        return {role: getattr(self, role) for role in self.weight_roles}

    def _store_weights(self, arrays):
        self._given.update(arrays)
        if self._stats is not None:  # in use since init()
            self._stats.update(arrays)

    def _build(self, input_shapes):
        shape = super()._build(input_shapes)
        for name, arr in self._given.items():
            if arr.shape != (shape[-1],):
                raise ValueError(f"`{name}` has shape {arr.shape}; this input has {shape[-1]} "
                                 f"channels, so it must be ({shape[-1]},).")
        return shape

    def _init_weights(self, rng):
        c = self._output_shape[-1]
        self._stats = {k: self._given.get(k, np.full(c, v, np.float32))
                       for k, v in self._INITIAL.items() if k in self.weight_roles}

    def _unbuild(self):
        super()._unbuild()
        self._stats = None

    def affine(self):
        """``(scale, shift)`` per channel, float64: this layer is ``x * scale + shift``."""
        s = self._stats
        scale = 1.0 / np.sqrt(s["moving_variance"].astype(np.float64) + self.epsilon)
        if self.scale:
            scale = s["gamma"] * scale
        shift = -s["moving_mean"] * scale
        if self.center:
            shift = s["beta"] + shift
        return scale, shift

    def affine_weights(self):
        """The arrays :meth:`affine` is computed from (they are replaced, never changed in place)."""
        return tuple(self._stats.values())

    def _forward(self, inputs):
        scale, shift = self.affine()
        x = inputs[0]
        out = np.multiply(x, scale.astype(x.dtype))
        out += shift.astype(x.dtype)
        return out

    @property
    def param_count(self):
        # Keras counts the moving statistics too (as non-trainable parameters).
        return len(self.weight_roles) * self._output_shape[-1] if self.is_built else None


class Rescaling(_SameShape):
    """``x * scale + offset`` (Keras ``Rescaling``), e.g. pixels 0-255 to -1..1."""

    layer_type = "Rescaling"
    default_color = "#EEEEEE"
    _name_prefix = "rescaling"

    def __init__(self, scale=1.0, offset=0.0, **options):
        super().__init__(**visual_options("Rescaling", options, ("scale", "offset")))
        self.scale, self.offset = _as_number(scale, "scale"), _as_number(offset, "offset")

    def _forward(self, inputs):
        x = inputs[0]
        return x * x.dtype.type(self.scale) + x.dtype.type(self.offset)

    @property
    def config_text(self):
        return f"x{self.scale:g} {self.offset:+g}"


class Dropout(_SameShape):
    """Dropout: the identity at inference, shown so the topology matches the file."""

    layer_type = "Dropout"
    fold_label = "dropout"
    default_color = "#A5A5A5"
    _name_prefix = "dropout"

    def __init__(self, rate=0.5, **options):
        super().__init__(**visual_options("Dropout", options, ("rate",)))
        self.rate = _as_number(rate, "rate", minimum=0)
        if self.rate >= 1:
            raise ValueError(f"`rate` must be in [0, 1), got {rate!r}.")

    def _forward(self, inputs):
        return inputs[0]


class Padding2d(Layer):
    """Zero padding around the picture (Keras ``ZeroPadding2D``).

    ``padding``: int, ``(rows, cols)``, or ``((top, bottom), (left, right))``.
    """

    layer_type = "Padding2d"
    fold_label = "pad"
    fold_forward = True
    default_color = "#6EB6FF"  # TensorSpace's padding colour
    _name_prefix = "padding2d"

    def __init__(self, padding=1, **options):
        super().__init__(**visual_options("Padding2d", options, ("padding",)))
        self.padding = self._as_padding(padding)

    @staticmethod
    def _as_padding(value):
        try:
            if isinstance(value, numbers.Integral):
                p = as_int(value, "padding", minimum=0)
                return ((p, p), (p, p))
            a, b = value
            if isinstance(a, numbers.Integral) and isinstance(b, numbers.Integral):
                a, b = as_int(a, "padding", minimum=0), as_int(b, "padding", minimum=0)
                return ((a, a), (b, b))
            return tuple(tuple(as_int(v, "padding", minimum=0) for v in pair) for pair in (a, b))
        except (TypeError, ValueError) as err:
            if "`padding`" in str(err):
                raise
            raise TypeError(
                f"`padding` must be an int, (rows, cols) or ((top, bottom), (left, right)), "
                f"got {value!r}.") from err

    def _build(self, input_shapes):
        (self._input_shape,) = input_shapes
        h, w, c = require_image(self, self._input_shape)
        (t, b), (left, r) = self.padding
        return h + t + b, w + left + r, c

    def _forward(self, inputs):
        (t, b), (left, r) = self.padding
        return np.pad(inputs[0], ((0, 0), (t, b), (left, r), (0, 0)))

    @property
    def config_text(self):
        return f"pad {self.padding}"
