"""A per-channel scale and offset: ``x * scale + offset`` with one number per channel.

What a model's own input normalisation (``(x - mean) / std`` inside ``forward``) or an
elementwise product with a per-channel constant becomes; scalars broadcast to every channel.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, as_weights, visual_options


class ChannelAffine(Layer):
    """``x * scale + offset`` over the last axis; ``scale`` and ``offset`` are numbers or
    ``(c,)`` arrays."""

    layer_type = "ChannelAffine"
    default_color = "#EEEEEE"
    _name_prefix = "channel_affine"

    def __init__(self, scale=1.0, offset=0.0, **options):
        super().__init__(**visual_options("ChannelAffine", options, ("scale", "offset")))
        self.scale = as_weights(np.atleast_1d(np.asarray(scale, np.float32)), "scale", 1)
        self.offset = as_weights(np.atleast_1d(np.asarray(offset, np.float32)), "offset", 1)

    def _build(self, input_shapes):
        (shape,) = input_shapes
        self._input_shape = shape
        for name, arr in (("scale", self.scale), ("offset", self.offset)):
            if arr.shape not in ((1,), (shape[-1],)):
                raise ValueError(f"`{name}` has shape {arr.shape}; this input has {shape[-1]} "
                                 f"channels, so it must be (1,) or ({shape[-1]},).")
        return shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale.tolist(),
                "offset": self.offset.tolist()}

    def _forward(self, inputs):
        x = inputs[0]
        return x * self.scale.astype(x.dtype) + self.offset.astype(x.dtype)

    @property
    def config_text(self):
        if self.scale.size == self.offset.size == 1:
            return f"x{self.scale[0]:g} {self.offset[0]:+g}"
        return "per channel"
