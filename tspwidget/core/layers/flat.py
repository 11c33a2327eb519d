"""Layers whose output is a vector or a reshaped tensor: global pooling, flatten, reshape, dense."""

from __future__ import annotations

import numpy as np

from .._validation import as_choice, as_int
from ..activations import activate, as_activation
from .base import KernelBias, Layer, as_weights, require_image, visual_options
from .conv import he_normal


class GlobalPooling2d(Layer):
    """Mean or max over the picture: ``(h, w, c)`` to ``(c,)``, or ``(1, 1, c)`` with keepdims."""

    layer_type = "GlobalPooling2d"
    default_color = "#00FFFF"
    _name_prefix = "global_pooling2d"

    def __init__(self, mode="avg", *, keepdims=False, **options):
        super().__init__(**visual_options("GlobalPooling2d", options, ("mode", "keepdims")))
        self.mode = as_choice(mode, "mode", ("avg", "max"))
        if not isinstance(keepdims, bool):
            raise TypeError(f"`keepdims` must be True or False, got {keepdims!r}.")
        self.keepdims = keepdims

    def _build(self, input_shapes):
        (self._input_shape,) = input_shapes
        c = require_image(self, self._input_shape)[2]
        return (1, 1, c) if self.keepdims else (c,)

    def _forward(self, inputs):
        reduce = np.mean if self.mode == "avg" else np.max
        return reduce(inputs[0], axis=(1, 2), keepdims=self.keepdims)

    @property
    def config_text(self):
        return self.mode


class Flatten(Layer):
    """Everything of a sample in one vector (row-major, channel last, as Keras)."""

    layer_type = "Flatten"
    default_color = "#A5A5A5"
    _name_prefix = "flatten"

    def __init__(self, **options):
        super().__init__(**visual_options("Flatten", options, ()))

    def _build(self, input_shapes):
        (self._input_shape,) = input_shapes
        return (int(np.prod(self._input_shape)),)

    def _forward(self, inputs):
        return inputs[0].reshape(len(inputs[0]), -1)


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (one entry may be -1)."""

    layer_type = "Reshape"
    default_color = "#A5A5A5"
    _name_prefix = "reshape"

    def __init__(self, target_shape, **options):
        super().__init__(**visual_options("Reshape", options, ("target_shape",)))
        if isinstance(target_shape, (str, bytes)) or not np.iterable(target_shape):
            raise TypeError(f"`target_shape` must be a tuple of ints, got {target_shape!r}.")
        self.target_shape = tuple(-1 if v == -1 else as_int(v, "target_shape") for v in target_shape)
        if not self.target_shape or self.target_shape.count(-1) > 1:
            raise ValueError(f"`target_shape` needs at least one entry and at most one -1, "
                             f"got {target_shape!r}.")

    def _build(self, input_shapes):
        (self._input_shape,) = input_shapes
        size = int(np.prod(self._input_shape))
        known = int(np.prod([v for v in self.target_shape if v != -1]))
        shape = tuple(size // known if v == -1 else v for v in self.target_shape)
        if int(np.prod(shape)) != size:
            raise ValueError(f"`target_shape` {self.target_shape} cannot hold the {size} values "
                             f"of an input of shape {self._input_shape}.")
        return shape

    def _forward(self, inputs):
        return inputs[0].reshape(len(inputs[0]), *self._output_shape)


class Dense(KernelBias, Layer):
    """Fully connected layer on a vector: ``activation(x @ kernel + bias)``."""

    layer_type = "Dense"
    keras_class = "Dense"
    fold_host = True
    default_color = "#00FF00"  # TensorSpace's dense colour
    _name_prefix = "dense"

    def __init__(self, units=None, *, activation="linear", use_bias=True, kernel=None, bias=None,
                 **options):
        super().__init__(**visual_options("Dense", options, (
            "units", "activation", "use_bias", "kernel", "bias")))
        self._given_kernel = None if kernel is None else as_weights(kernel, "kernel", 2)
        self._given_bias = None if bias is None else as_weights(bias, "bias", 1)
        if units is None and self._given_kernel is None:
            raise TypeError("Dense() needs `units` (or a `kernel` array).")
        self.units = as_int(units, "units") if units is not None else self._given_kernel.shape[1]
        if self._given_kernel is not None and self._given_kernel.shape[1] != self.units:
            raise ValueError(f"`units` {self.units} contradicts `kernel` of shape "
                             f"{self._given_kernel.shape}.")
        self.activation = as_activation(activation)
        if not isinstance(use_bias, bool):
            raise TypeError(f"`use_bias` must be True or False, got {use_bias!r}.")
        self.use_bias = use_bias
        self._kernel = self._bias = None

    kernel = property(lambda self: self._kernel if self._kernel is not None else self._given_kernel)
    bias = property(lambda self: self._bias if self._bias is not None else self._given_bias)

    def _kernel_shape(self):
        return self._input_shape[-1], self.units

    def _build(self, input_shapes):
        (self._input_shape,) = input_shapes
        n_in = self._input_shape[-1]
        if self._given_kernel is not None and self._given_kernel.shape != (n_in, self.units):
            raise ValueError(f"`kernel` has shape {self._given_kernel.shape}, but with this input "
                             f"it must be {(n_in, self.units)}.")
        if self._given_bias is not None and self._given_bias.shape != (self.units,):
            raise ValueError(f"`bias` has shape {self._given_bias.shape}; it must be ({self.units},).")
        return (*self._input_shape[:-1], self.units)

    def _init_weights(self, rng):
        n_in = self._input_shape[-1]
        self._kernel = (self._given_kernel if self._given_kernel is not None
                        else he_normal(rng, (n_in, self.units), n_in))
        if self.use_bias:
            self._bias = (self._given_bias if self._given_bias is not None
                          else np.zeros(self.units, np.float32))

    def _unbuild(self):
        super()._unbuild()
        self._kernel = self._bias = None

    def _forward(self, inputs):
        y = inputs[0] @ self._kernel
        if self._bias is not None:
            y += self._bias
        return activate(y.astype(inputs[0].dtype, copy=False), self.activation)

    @property
    def param_count(self):
        if not self.is_built:
            return None
        return self._input_shape[-1] * self.units + (self.units if self.use_bias else 0)

    @property
    def config_text(self):
        return f"{self.units} {self.activation}"
