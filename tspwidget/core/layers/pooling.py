"""Pooling layer (max or average over a window)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._validation import as_choice, as_int, as_padding, as_pair
from ..ops import conv_output_shape, pool2d
from .base import Layer, require_image, visual_options


def _as_pads(value):
    """``((top, bottom), (left, right))`` of ints >= 0."""
    try:
        (t, b), (left, r) = value
        return tuple(tuple(as_int(v, "pads", minimum=0) for v in pair)
                     for pair in ((t, b), (left, r)))
    except (TypeError, ValueError) as err:
        if "`pads`" in str(err):
            raise
        raise TypeError(f"`pads` must be ((top, bottom), (left, right)), got {value!r}.") from err


def _axis_size(size, k, s, before, after, ceil_mode):
    """Windows along one axis, PyTorch's rule: with ``ceil_mode`` a last partial window counts
    unless it would start in the bottom/right padding."""
    span = size + before + after - k
    if span < 0:
        raise ValueError(f"a pool window of {k} does not fit an input of {size} padded by "
                         f"({before}, {after}).")
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + before:
        out -= 1
    return out


class Pooling2d(Layer):
    """2D max or average pooling (Keras ``MaxPooling2D`` / ``AveragePooling2D``, PyTorch
    ``MaxPool2d`` / ``AvgPool2d``).

    Parameters
    ----------
    pool_size : int or (int, int), default 2
    strides : int or (int, int), default ``pool_size``
    padding : {"valid", "same"}, default "valid"
    mode : {"max", "avg"}, default "max"
    pads : ((top, bottom), (left, right)), optional
        Explicit padding (PyTorch's ``padding``), with ``padding="valid"``: ignored by maxima;
        counted by averages only with ``count_include_pad=True``.
    ceil_mode : bool, default False
        PyTorch's ``ceil_mode``: a last window that runs past the input still gives an output
        (the part past the input and its pads is never counted).
    """

    layer_type = "Pooling2d"
    default_color = "#00FFFF"  # TensorSpace's pooling colour
    _name_prefix = "pooling2d"

    def __init__(self, pool_size=2, *, strides=None, padding="valid", mode="max", pads=None,
                 ceil_mode=False, count_include_pad=False, **options):
        super().__init__(**visual_options("Pooling2d", options, (
            "pool_size", "strides", "padding", "mode", "pads", "ceil_mode", "count_include_pad")))
        self.pool_size = as_pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else as_pair(strides, "strides")
        self.padding = as_padding(padding)
        self.mode = as_choice(mode, "mode", ("max", "avg"))
        self.pads = ((0, 0), (0, 0)) if pads is None else _as_pads(pads)
        for flag, value in (("ceil_mode", ceil_mode), ("count_include_pad", count_include_pad)):
            if not isinstance(value, bool):
                raise TypeError(f"`{flag}` must be True or False, got {value!r}.")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        if self._explicit and self.padding != "valid":
            raise ValueError(f"`pads`/`ceil_mode` need padding='valid', got {self.padding!r}.")

    @property
    def _explicit(self):
        return self.pads != ((0, 0), (0, 0)) or self.ceil_mode

    def _build(self, input_shapes):
        (input_shape,) = input_shapes
        self._input_shape = require_image(self, input_shape)
        if self._explicit:
            rows, cols = (_axis_size(input_shape[a], self.pool_size[a], self.strides[a],
                                     *self.pads[a], self.ceil_mode) for a in (0, 1))
        else:
            rows, cols = conv_output_shape(input_shape[:2], self.pool_size, strides=self.strides,
                                           padding=self.padding)
        return rows, cols, input_shape[2]

    def _forward(self, inputs):
        if not self._explicit:
            return pool2d(inputs[0], self.pool_size, strides=self.strides, padding=self.padding,
                          mode=self.mode)
        x = inputs[0]
        (ho, wo, _), (kh, kw), (sh, sw) = self._output_shape, self.pool_size, self.strides
        (t, b), (left, r) = self.pads
        # The ceil-mode tail past the pads: as many rows/columns as the last window needs.
        tail_b = max(0, (ho - 1) * sh + kh - (x.shape[1] + t + b))
        tail_r = max(0, (wo - 1) * sw + kw - (x.shape[2] + left + r))
        widths = ((0, 0), (t, b + tail_b), (left, r + tail_r), (0, 0))
        fill = -np.inf if self.mode == "max" else 0
        windows = self._windows(np.pad(x, widths, constant_values=fill))
        if self.mode == "max":
            return windows.max(axis=(-2, -1))
        counted = np.pad(np.ones((1, *x.shape[1:3], 1), x.dtype),
                         ((0, 0), (t, b), (left, r), (0, 0)),
                         constant_values=1 if self.count_include_pad else 0)
        counted = np.pad(counted, ((0, 0), (0, tail_b), (0, tail_r), (0, 0)))
        return windows.sum(axis=(-2, -1)) / self._windows(counted).sum(axis=(-2, -1))

    def _windows(self, padded):
        (ho, wo, _), (sh, sw) = self._output_shape, self.strides
        view = sliding_window_view(padded, self.pool_size, axis=(1, 2))
        return view[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]

    @property
    def config_text(self):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        text = f"{self.mode} {ph}x{pw} s{sh}" + ("" if sh == sw else f",{sw}")
        if not self._explicit:
            return f"{text} {self.padding}"
        if self.pads != ((0, 0), (0, 0)):
            text += f" pad {self.pads}"
        return text + (" ceil" if self.ceil_mode else "")
