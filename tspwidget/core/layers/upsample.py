"""Resizing a picture to a given size: nearest or bilinear, as PyTorch's ``interpolate`` does.

Decoders (U-Nets, segmentation heads) grow their maps back with it. Each output pixel reads the
input at a source coordinate: ``nearest`` takes ``floor(dst * in / out)``; ``bilinear`` blends
the four neighbours of ``(dst + 0.5) * in / out - 0.5`` (clamped to the picture), or of
``dst * (in - 1) / (out - 1)`` with ``align_corners=True``.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_choice, as_pair
from .base import Layer, require_image, visual_options


def _nearest(size_in, size_out):
    return np.minimum(np.floor(np.arange(size_out) * (size_in / size_out)).astype(np.intp),
                      size_in - 1)


def _linear(size_in, size_out, align_corners):
    """Per output index: the two source indices and the weight of the second."""
    dst = np.arange(size_out, dtype=np.float64)
    if align_corners:
        src = dst * ((size_in - 1) / (size_out - 1)) if size_out > 1 else np.zeros(size_out)
    else:
        src = (dst + 0.5) * (size_in / size_out) - 0.5
    src = np.clip(src, 0, size_in - 1)
    low = np.floor(src).astype(np.intp)
    high = np.minimum(low + 1, size_in - 1)
    return low, high, (src - low).astype(np.float32)


class Upsampling2d(Layer):
    """Resize ``(h, w, c)`` to ``(*size, c)``.

    Parameters
    ----------
    size : int or (int, int)
        Output rows and columns.
    mode : {"nearest", "bilinear"}, default "nearest"
    align_corners : bool, default False
        PyTorch's option of the same name (bilinear only).
    """

    layer_type = "Upsampling2d"
    default_color = "#6EB6FF"
    _name_prefix = "upsampling2d"

    def __init__(self, size, *, mode="nearest", align_corners=False, **options):
        super().__init__(**visual_options("Upsampling2d", options,
                                          ("size", "mode", "align_corners")))
        self.size = as_pair(size, "size")
        self.mode = as_choice(mode, "mode", ("nearest", "bilinear"))
        if not isinstance(align_corners, bool):
            raise TypeError(f"`align_corners` must be True or False, got {align_corners!r}.")
        if align_corners and self.mode != "bilinear":
            raise ValueError("`align_corners=True` needs mode='bilinear'.")
        self.align_corners = align_corners

    def _build(self, input_shapes):
        (self._input_shape,) = input_shapes
        return (*self.size, require_image(self, self._input_shape)[2])

    def _forward(self, inputs):
        x = inputs[0]
        (h, w), (ho, wo) = x.shape[1:3], self.size
        if self.mode == "nearest":
            return x[:, _nearest(h, ho)][:, :, _nearest(w, wo)]
        r0, r1, rw = _linear(h, ho, self.align_corners)
        c0, c1, cw = _linear(w, wo, self.align_corners)
        rows = x[:, r0] * (1 - rw)[:, None, None] + x[:, r1] * rw[:, None, None]
        return rows[:, :, c0] * (1 - cw)[:, None] + rows[:, :, c1] * cw[:, None]

    @property
    def config_text(self):
        corners = " align_corners" if self.align_corners else ""
        return f"{self.mode} to {self.size[0]}x{self.size[1]}{corners}"
