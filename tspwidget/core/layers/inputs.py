"""Input layers: they hold the picture or tensor the model is fed."""

from __future__ import annotations

from .._validation import as_int, as_shape
from .base import Layer, visual_options


class _InputLayer(Layer):
    """An input of fixed shape ``(h, w, c)``; its value is the sample being shown."""

    is_input = True
    default_color = "#EEEEEE"  # TensorSpace's input colour
    _channels = None  # fixed channel count for greyscale and RGB inputs

    def __init__(self, shape, **options):
        super().__init__(**visual_options(type(self).__name__, options, ("shape",)))
        self.shape = self._as_input_shape(shape)
        self._input_shape = self._output_shape = self.shape

    def _as_input_shape(self, shape):
        if self._channels is None:
            return as_shape(shape, "shape")
        try:
            items = tuple(shape)
        except TypeError:
            items = None
        if items is not None and len(items) == 2:  # (h, w): the channel count is implied
            return (as_int(items[0], "shape"), as_int(items[1], "shape"), self._channels)
        full = as_shape(shape, "shape")
        if full[2] != self._channels:
            raise ValueError(
                f"`shape` of {self.layer_type} must be (h, w) or (h, w, {self._channels}), "
                f"got {shape!r}."
            )
        return full

    def apply(self, previous):
        raise ValueError(f"{self.layer_type} {self.name!r} is an input and takes no inputs.")

    def _unbuild(self):
        self._neural_value = None  # an input's shape is part of its configuration

    def _build(self, input_shapes):
        return self.shape

    def _forward(self, inputs):
        return inputs[0]

    @property
    def config_text(self):
        return "x".join(map(str, self.shape))


class GreyscaleInput(_InputLayer):
    """A one-channel picture, ``shape=(h, w, 1)`` or ``(h, w)``."""

    layer_type = "GreyscaleInput"
    _name_prefix = "greyscale_input"
    _channels = 1


class RGBInput(_InputLayer):
    """A colour picture, ``shape=(h, w, 3)`` or ``(h, w)``."""

    layer_type = "RGBInput"
    _name_prefix = "rgb_input"
    _channels = 3
    is_rgb = True


class Input3d(_InputLayer):
    """Any channel-last tensor, ``shape=(h, w, c)``."""

    layer_type = "Input3d"
    _name_prefix = "input3d"
