"""Pooling layer (max or average over a window)."""

from __future__ import annotations

from .._validation import as_choice, as_pair, as_padding
from ..ops import conv_output_shape, pool2d
from .base import Layer, require_image, visual_options


class Pooling2d(Layer):
    """2D max or average pooling (Keras ``MaxPooling2D`` / ``AveragePooling2D``).

    Parameters
    ----------
    pool_size : int or (int, int), default 2
    strides : int or (int, int), default ``pool_size``
    padding : {"valid", "same"}, default "valid"
    mode : {"max", "avg"}, default "max"
    """

    layer_type = "Pooling2d"
    default_color = "#00FFFF"  # TensorSpace's pooling colour
    _name_prefix = "pooling2d"

    def __init__(self, pool_size=2, *, strides=None, padding="valid", mode="max", **options):
        super().__init__(**visual_options(
            "Pooling2d", options, ("pool_size", "strides", "padding", "mode")))
        self.pool_size = as_pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else as_pair(strides, "strides")
        self.padding = as_padding(padding)
        self.mode = as_choice(mode, "mode", ("max", "avg"))

    def _build(self, input_shapes):
        (input_shape,) = input_shapes
        self._input_shape = require_image(self, input_shape)
        rows, cols = conv_output_shape(input_shape[:2], self.pool_size, strides=self.strides,
                                       padding=self.padding)
        return rows, cols, input_shape[2]

    def _forward(self, inputs):
        return pool2d(inputs[0], self.pool_size, strides=self.strides, padding=self.padding,
                      mode=self.mode)

    @property
    def config_text(self):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        return f"{self.mode} {ph}x{pw} s{sh}" + ("" if sh == sw else f",{sw}") + f" {self.padding}"
