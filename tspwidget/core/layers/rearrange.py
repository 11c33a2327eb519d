"""A layer that only moves values: each output value is one given input value.

It is what a chain of reshapes, transposes and slices becomes once the chain ends on a picture
or a vector again: ShuffleNet's channel shuffle (reshape, transpose, reshape), its channel
split, a flatten in another framework's order. The chain is worked out once (where the index
of every value goes), so inference is one gather.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_shape
from .base import Layer, visual_options


class Rearrange(Layer):
    """``output.ravel()[i] = input.ravel()[indices[i]]`` per sample, reshaped to ``shape``.

    Parameters
    ----------
    indices : array of ints
        For each output value (row-major, channel last), the input value it copies.
    shape : tuple of ints
        Output shape of one sample: ``(h, w, c)`` or ``(n,)``.
    """

    layer_type = "Rearrange"
    default_color = "#A5A5A5"
    _name_prefix = "rearrange"

    def __init__(self, indices, shape, **options):
        super().__init__(**visual_options("Rearrange", options, ("indices", "shape")))
        indices = np.asarray(indices)
        if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer) or indices.size == 0:
            raise TypeError(f"`indices` must be a non-empty 1-D array of ints, got {indices!r}.")
        if isinstance(shape, (str, bytes)) or not np.iterable(shape) or len(shape) not in (1, 3):
            raise TypeError(f"`shape` must be (h, w, c) or (n,), got {shape!r}.")
        self.shape = as_shape(shape, "shape", length=len(shape))
        if int(np.prod(self.shape)) != indices.size:
            raise ValueError(f"`shape` {self.shape} holds {int(np.prod(self.shape))} values, but "
                             f"`indices` has {indices.size}.")
        self.indices = indices.astype(np.intp)
        self.indices.flags.writeable = False

    def _build(self, input_shapes):
        (self._input_shape,) = input_shapes
        size = int(np.prod(self._input_shape))
        if self.indices.min() < 0 or self.indices.max() >= size:
            raise ValueError(f"`indices` must lie in [0, {size}) for an input of shape "
                             f"{self._input_shape}, got [{self.indices.min()}, "
                             f"{self.indices.max()}].")
        return self.shape

    def _forward(self, inputs):
        x = inputs[0]
        return x.reshape(len(x), -1)[:, self.indices].reshape(len(x), *self.shape)

    def get_config(self):
        return {**super().get_config(), "indices": self.indices.tolist(), "shape": list(self.shape)}

    def channel_sources(self):
        """For an ``(h, w, c) -> (h, w, c')`` rearrangement that only picks channels (a shuffle
        or a split), the input channel of each output channel; otherwise None."""
        if len(self.shape) != 3 or self._input_shape is None or len(self._input_shape) != 3:
            return None
        h, w, c = self._input_shape
        if self.shape[:2] != (h, w):
            return None
        src = self.indices.reshape(self.shape)
        pixel = np.arange(h * w).reshape(h, w, 1) * c
        channels = src - pixel
        if channels.min() < 0 or channels.max() >= c or not (channels == channels[:1, :1]).all():
            return None
        return channels[0, 0].copy()

    @property
    def fold_label(self):
        """A view draws a channel shuffle inside the node before it (``+shuffle``) and a channel
        split inside the one layer it feeds (``+split``, see ``fold_forward``); other
        rearrangements are drawn as nodes of their own."""
        sources = self.channel_sources()
        if sources is None:
            return None
        return "shuffle" if len(sources) == self._input_shape[-1] else "split"

    @property
    def fold_forward(self):
        return self.fold_label == "split"

    @property
    def config_text(self):
        sources = self.channel_sources()
        if sources is None:
            return "gather"
        if np.array_equal(sources, np.arange(sources[0], sources[0] + len(sources))):
            return f"channels {sources[0]}-{sources[-1]}"
        return "channel order"
