"""Layer normalisation over the channels (the last axis), as ConvNeXt and transformers use it."""

from __future__ import annotations

import numpy as np

from .base import Layer, as_weights, visual_options


class LayerNorm(Layer):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta``, statistics over the last axis of each
    pixel (or of a vector); ``gamma`` and ``beta`` default to ones and zeros."""

    layer_type = "LayerNorm"
    default_color = "#A5A5A5"
    _name_prefix = "layer_norm"
    fold_label = "LN"  # drawn inside the convolution before it, as BatchNorm is

    def __init__(self, *, epsilon=1e-5, gamma=None, beta=None, **options):
        super().__init__(**visual_options("LayerNorm", options, ("epsilon", "gamma", "beta")))
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon < 0:
            raise TypeError(f"`epsilon` must be a number >= 0, got {epsilon!r}.")
        self.epsilon = float(epsilon)
        self._given = {k: as_weights(v, k, 1) for k, v in (("gamma", gamma), ("beta", beta))
                       if v is not None}

    weight_roles = ("gamma", "beta")
    gamma = property(lambda self: self._given.get("gamma"))
    beta = property(lambda self: self._given.get("beta"))

    def weight_shapes(self):
        self._require_built("weight_shapes()")
        return {role: (self._output_shape[-1],) for role in self.weight_roles}

    def _weights_in_use(self):
        return dict(self._given)

    def _store_weights(self, arrays):
        self._given.update(arrays)

    def _build(self, input_shapes):
        (shape,) = input_shapes
        self._input_shape = shape
        for name, arr in self._given.items():
            if arr.shape != (shape[-1],):
                raise ValueError(f"`{name}` has shape {arr.shape}; this input has {shape[-1]} "
                                 f"channels, so it must be ({shape[-1]},).")
        return shape

    def _forward(self, inputs):
        x = inputs[0]
        mean = x.mean(axis=-1, keepdims=True, dtype=np.float64)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        y = ((x - mean) / np.sqrt(var + self.epsilon)).astype(x.dtype)
        if "gamma" in self._given:
            y *= self._given["gamma"]
        if "beta" in self._given:
            y += self._given["beta"]
        return y

    @property
    def param_count(self):
        return sum(a.size for a in self._given.values()) if self.is_built else None
