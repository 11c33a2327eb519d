"""Layers that join branches: ``Add()([a, b])`` style via ``apply([a, b])``."""

from __future__ import annotations

import numpy as np

from .._validation import as_int
from .base import Layer, visual_options


class _Merge(Layer):
    default_color = "#E23E57"  # TensorSpace's merge colour

    def apply(self, previous):
        """Feed every layer of ``previous`` (a list of two or more) into this one; returns self."""
        if not isinstance(previous, (list, tuple)) or len(previous) < 2 or not all(
                isinstance(p, Layer) for p in previous):
            raise TypeError(f"{self.layer_type}.apply() takes a list of two or more layers, "
                            f"got {previous!r}.")
        self._check_can_connect(list(previous))
        self._inbound = list(previous)
        return self


class Add(_Merge):
    """Elementwise sum of inputs of the same shape (residual connections)."""

    layer_type = "Add"
    fold_host = True  # ResNet's activation after the sum is drawn inside its node
    _name_prefix = "add"

    def __init__(self, **options):
        super().__init__(**visual_options("Add", options, ()))

    def _build(self, input_shapes):
        if len(set(input_shapes)) != 1:
            raise ValueError(f"Add needs inputs of one shape, got {input_shapes}.")
        self._input_shape = input_shapes
        return input_shapes[0]

    def _forward(self, inputs):
        out = inputs[0].copy()
        for x in inputs[1:]:
            out += x
        return out


class Concatenate(_Merge):
    """Inputs joined along ``axis`` (default -1, the channels)."""

    layer_type = "Concatenate"
    _name_prefix = "concatenate"
    fold_host = True  # ShuffleNet's channel shuffle after the join is drawn inside its node

    def __init__(self, axis=-1, **options):
        super().__init__(**visual_options("Concatenate", options, ("axis",)))
        self.axis = axis if axis == -1 else as_int(axis, "axis")

    def _build(self, input_shapes):
        self._input_shape = input_shapes
        ndim = len(input_shapes[0])
        axis = self.axis if self.axis >= 0 else ndim + self.axis
        if self.axis != -1:
            axis -= 1  # Keras counts the batch axis
        if not 0 <= axis < ndim or any(len(s) != ndim for s in input_shapes) or any(
                s[:axis] + s[axis + 1:] != input_shapes[0][:axis] + input_shapes[0][axis + 1:]
                for s in input_shapes):
            raise ValueError(f"Concatenate(axis={self.axis}) cannot join shapes {input_shapes}.")
        self._axis = axis
        out = list(input_shapes[0])
        out[axis] = sum(s[axis] for s in input_shapes)
        return tuple(out)

    def _forward(self, inputs):
        return np.concatenate(inputs, axis=self._axis + 1)


class Multiply(_Merge):
    """Elementwise product, broadcasting like numpy: a squeeze-excitation block scales an
    ``(h, w, c)`` map by a ``(1, 1, c)`` gate."""

    layer_type = "Multiply"
    _name_prefix = "multiply"

    def __init__(self, **options):
        super().__init__(**visual_options("Multiply", options, ()))

    def _build(self, input_shapes):
        try:
            shape = np.broadcast_shapes(*input_shapes)
        except ValueError:
            raise ValueError(f"Multiply cannot broadcast shapes {input_shapes}.") from None
        self._input_shape = input_shapes
        return tuple(shape)

    def _forward(self, inputs):
        out = inputs[0] * inputs[1]
        for x in inputs[2:]:
            out = out * x
        return out
