"""Transposed convolution (PyTorch's ``ConvTranspose2d``, Keras's ``Conv2DTranspose``).

Each input pixel spreads ``kernel``-weighted copies of itself over the output, ``strides`` apart.
Computed as the equivalent plain convolution: zeros inserted between the input pixels, padding
of ``dilation * (k - 1) - pad`` around them (``output_padding`` more at the bottom/right) and
the kernel turned by 180 degrees.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_int, as_pair
from ..ops import conv2d
from .base import KernelBias, Layer, as_weights, require_image, visual_options
from .conv import he_normal


def _pads(value, name):
    try:
        (t, b), (left, r) = value
        return tuple(tuple(as_int(v, name, minimum=0) for v in pair)
                     for pair in ((t, b), (left, r)))
    except (TypeError, ValueError) as err:
        if f"`{name}`" in str(err):
            raise
        raise TypeError(f"`{name}` must be ((top, bottom), (left, right)), got {value!r}.") from err


class Conv2dTranspose(KernelBias, Layer):
    """Transposed 2D convolution: ``filters`` output channels, the output grows by ``strides``.

    Parameters
    ----------
    filters : int
    kernel_size : int or (int, int)
    strides, dilation : int or (int, int), default 1
    pads : ((top, bottom), (left, right)), default no padding
        PyTorch's ``padding``: rows and columns taken off the full output.
    output_padding : int or (int, int), default 0
        Rows/columns added at the bottom/right (PyTorch's ``output_padding``).
    kernel, bias : arrays, optional
        Keras layout ``(kh, kw, filters, in_channels)`` and ``(filters,)``.
    """

    layer_type = "Conv2dTranspose"
    default_color = "#F7FE2E"
    _name_prefix = "conv2d_transpose"
    fold_host = True  # its BatchNorm and activation may be drawn inside its node

    def __init__(self, filters=None, kernel_size=None, *, strides=1, pads=((0, 0), (0, 0)),
                 output_padding=0, dilation=1, use_bias=True, kernel=None, bias=None,
                 **options):
        super().__init__(**visual_options("Conv2dTranspose", options, (
            "filters", "kernel_size", "strides", "pads", "output_padding", "dilation",
            "use_bias", "kernel", "bias")))
        self._given_kernel = None if kernel is None else as_weights(kernel, "kernel", 4)
        self._given_bias = None if bias is None else as_weights(bias, "bias", 1)
        if self._given_kernel is not None:
            kernel_size = kernel_size or self._given_kernel.shape[:2]
            filters = filters or self._given_kernel.shape[2]
        if filters is None or kernel_size is None:
            raise TypeError("Conv2dTranspose() needs `filters` and `kernel_size` (or `kernel`).")
        self.filters = as_int(filters, "filters")
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.strides, self.dilation = as_pair(strides, "strides"), as_pair(dilation, "dilation")
        self.pads = _pads(pads, "pads")
        self.output_padding = as_pair(output_padding, "output_padding", minimum=0)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.strides,
                                                  self.dilation)):
            raise ValueError(f"`output_padding` {self.output_padding} must be smaller than "
                             f"`strides` {self.strides} or `dilation` {self.dilation}.")
        if not isinstance(use_bias, bool):
            raise TypeError(f"`use_bias` must be True or False, got {use_bias!r}.")
        if bias is not None and not use_bias:
            raise ValueError("`bias` was given but use_bias=False; drop one of them.")
        self.use_bias = use_bias
        self._kernel = self._bias = None

    kernel = property(lambda self: self._kernel if self._kernel is not None else self._given_kernel)
    bias = property(lambda self: self._bias if self._bias is not None else self._given_bias)

    def _kernel_shape(self):
        return (*self.kernel_size, self.filters, self._input_shape[2])

    def _build(self, input_shapes):
        (shape,) = input_shapes
        h, w, c = require_image(self, shape)
        self._input_shape = shape
        expected = (*self.kernel_size, self.filters, c)
        if self._given_kernel is not None and self._given_kernel.shape != expected:
            raise ValueError(f"`kernel` has shape {self._given_kernel.shape}, but with this "
                             f"input it must be {expected}.")
        if self._given_bias is not None and self._given_bias.shape != (self.filters,):
            raise ValueError(f"`bias` has shape {self._given_bias.shape}; it must be "
                             f"({self.filters},).")
        out = []
        for a, size in enumerate((h, w)):
            k, s, d = self.kernel_size[a], self.strides[a], self.dilation[a]
            n = (size - 1) * s - sum(self.pads[a]) + d * (k - 1) + self.output_padding[a] + 1
            if n < 1:
                raise ValueError(f"pads {self.pads} leave no output for an input of {shape}.")
            out.append(n)
        return (*out, self.filters)

    def _init_weights(self, rng):
        shape = (*self.kernel_size, self.filters, self._input_shape[2])
        fan_in = self.kernel_size[0] * self.kernel_size[1] * self._input_shape[2]
        self._kernel = self._given_kernel if self._given_kernel is not None else he_normal(
            rng, shape, fan_in)
        if self.use_bias:
            self._bias = self._given_bias if self._given_bias is not None else np.zeros(
                self.filters, np.float32)

    def _unbuild(self):
        super()._unbuild()
        self._kernel = self._bias = None

    def _forward(self, inputs):
        x = inputs[0]
        n, h, w, c = x.shape
        (sh, sw), (kh, kw), (dh, dw) = self.strides, self.kernel_size, self.dilation
        spread = np.zeros((n, (h - 1) * sh + 1, (w - 1) * sw + 1, c), x.dtype)
        spread[:, ::sh, ::sw] = x
        widths = []
        for (before, after), k, d, extra in zip(self.pads, (kh, kw), (dh, dw),
                                                self.output_padding):
            widths.append((d * (k - 1) - before, d * (k - 1) - after + extra))
        # Negative widths (pads larger than the kernel reach) crop instead of padding.
        spread = np.pad(spread, ((0, 0), *((max(a, 0), max(b, 0)) for a, b in widths), (0, 0)))
        (t, b), (left, r) = widths
        spread = spread[:, max(-t, 0):spread.shape[1] - max(-b, 0),
                        max(-left, 0):spread.shape[2] - max(-r, 0)]
        turned = np.ascontiguousarray(self._kernel[::-1, ::-1].transpose(0, 1, 3, 2))
        return conv2d(spread, turned, self._bias, dilation=self.dilation)

    @property
    def param_count(self):
        if not self.is_built:
            return None
        weights = self.kernel_size[0] * self.kernel_size[1] * self.filters * self._input_shape[2]
        return weights + (self.filters if self.use_bias else 0)

    @property
    def config_text(self):
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return f"{kh}x{kw} s{sh}" + ("" if sh == sw else f",{sw}") + f" f{self.filters}"
