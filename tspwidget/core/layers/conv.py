"""Convolution layers: depthwise (the star of this library) and standard."""

from __future__ import annotations

import numpy as np

from .._validation import as_int, as_padding, as_pair, as_shape
from ..activations import activate, as_activation
from ..ops import (
    conv2d_batch,
    conv2d_runner,
    conv_output_shape,
    conv_pads,
    depthwise_batch,
    depthwise_runner,
    explicit_out_hw,
)
from .base import KernelBias, Layer, _registry, as_weights, require_image, visual_options

_CONV_ARGS = ("kernel_size", "strides", "padding", "dilation", "activation", "use_bias",
              "kernel", "bias")


def he_normal(rng, shape, fan_in):
    """Keras's HeNormal: normal with std sqrt(2 / fan_in), truncated at two deviations."""
    std = np.sqrt(2.0 / fan_in) / 0.87962566103423978  # keeps the std after truncation
    values = rng.standard_normal(shape)
    while True:
        outside = np.abs(values) > 2
        if not outside.any():
            break
        values[outside] = rng.standard_normal(int(outside.sum()))
    arr = (values * std).astype(np.float32)
    arr.flags.writeable = False
    return arr


class _Conv(KernelBias, Layer):
    """What depthwise and standard convolutions share: window, padding, weights, activation."""

    fold_host = True

    def __init__(self, kernel_size, *, strides, padding, dilation, activation, use_bias, kernel,
                 bias, own_args, options):
        super().__init__(**visual_options(type(self).__name__, options, own_args))
        self._kernel_size = None if kernel_size is None else as_pair(kernel_size, "kernel_size")
        self.strides = as_pair(strides, "strides")
        self.padding = as_padding(padding)
        self.dilation = as_pair(dilation, "dilation")
        self.activation = as_activation(activation)
        if not isinstance(use_bias, bool):
            raise TypeError(f"`use_bias` must be True or False, got {use_bias!r}.")
        self.use_bias = use_bias
        self._given_kernel = None if kernel is None else as_weights(kernel, "kernel", 4)
        self._given_bias = None if bias is None else as_weights(bias, "bias", 1)
        if bias is not None and not use_bias:
            raise ValueError("`bias` was given but use_bias=False; drop one of them.")
        if self._given_kernel is not None:
            from_kernel = self._given_kernel.shape[:2]
            if self._kernel_size not in (None, from_kernel):
                raise ValueError(
                    f"`kernel_size` {self._kernel_size} contradicts `kernel` of shape "
                    f"{self._given_kernel.shape} (kernel size {from_kernel})."
                )
            self._kernel_size = from_kernel
        self._kernel = self._bias = None

    @property
    def kernel_size(self):
        """``(rows, cols)`` of the window (derived at ``init()`` when built from ``shape``)."""
        return self._kernel_size

    @property
    def kernel(self):
        """The kernel weights (read-only): drawn at ``init()`` unless given."""
        return self._kernel if self._kernel is not None else self._given_kernel

    @property
    def bias(self):
        """The bias (read-only), or None when ``use_bias`` is False."""
        return self._bias if self._bias is not None else self._given_bias

    def _unbuild(self):
        super()._unbuild()
        self._kernel = self._bias = None

    def _check_weights(self, kernel_shape, n_out):
        given = self._given_kernel
        if given is not None and given.shape != kernel_shape:
            raise ValueError(
                f"`kernel` has shape {given.shape}, but with this input it must be {kernel_shape}."
            )
        if self._given_bias is not None and self._given_bias.shape != (n_out,):
            raise ValueError(
                f"`bias` has shape {self._given_bias.shape}, but this layer has {n_out} output "
                f"channels, so it must be ({n_out},)."
            )

    def _init_weights(self, rng):
        shape = self._kernel_shape()
        if self._given_kernel is not None:
            self._kernel = self._given_kernel
        else:
            self._kernel = he_normal(rng, shape, self._fan_in(shape))
        if self.use_bias:
            n_out = self._output_shape[2]
            if self._given_bias is not None:
                self._bias = self._given_bias
            else:
                self._bias = np.zeros(n_out, np.float32)
                self._bias.flags.writeable = False

    @staticmethod
    def _fan_in(kernel_shape):
        kh, kw, c, _ = kernel_shape
        return kh * kw * c

    def _out_shape(self, input_shape, n_out):
        rows, cols = conv_output_shape(input_shape[:2], self.kernel_size, strides=self.strides,
                                       padding=self.padding, dilation=self.dilation)
        return rows, cols, n_out

    @property
    def param_count(self):
        if not self.is_built:
            return None
        return int(np.prod(self._kernel_shape())) + (self._output_shape[2] if self.use_bias else 0)

    def _forward(self, inputs):
        return activate(self.run_linear(inputs[0], self._kernel, self._bias), self.activation)

    def run_linear(self, xb, kernel, bias, pads=((0, 0), (0, 0))):
        """This layer's convolution of the batch ``xb`` with ``kernel`` and ``bias`` (its own, or
        folded ones), after extra zero ``pads`` (a padding layer folded in); no activation."""
        total, out_hw = self.window(xb.shape[1:3], pads)
        return self._engine(xb, kernel.astype(xb.dtype, copy=False),
                            None if bias is None else bias.astype(xb.dtype, copy=False), total, out_hw)

    def window(self, input_hw, pads=((0, 0), (0, 0))):
        """``(pads, (rows, cols))``: the total zero padding and the output size on an input of
        ``input_hw`` that a padding layer first pads by ``pads``."""
        padded = (input_hw[0] + sum(pads[0]), input_hw[1] + sum(pads[1]))
        own = conv_pads(padded, self.kernel_size, strides=self.strides, padding=self.padding,
                        dilation=self.dilation)
        total = tuple((a + c, b + d) for (a, b), (c, d) in zip(pads, own))
        return total, explicit_out_hw(input_hw, self.kernel_size, self.strides, self.dilation, total)

    def folded_weights(self, scale, shift):
        """Kernel and bias with ``y * scale + shift`` per output channel folded in (a BatchNorm
        after this layer): float64 arithmetic, float32 results."""
        kernel = self._kernel.astype(np.float64) * self._per_output(scale)
        bias = shift if self._bias is None else self._bias * scale + shift
        return np.ascontiguousarray(kernel, np.float32), np.asarray(bias).astype(np.float32)

    def _window_text(self):
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size or ("?", "?"), self.strides, self.dilation
        text = f"{kh}x{kw} s{sh}" + ("" if sh == sw else f",{sw}") + f" {self.padding}"
        if (dh, dw) != (1, 1):
            text += f" d{dh}" + ("" if dh == dw else f",{dw}")
        return text


class DepthwiseConv2d(_Conv):
    """Depthwise 2D convolution: each input channel gets its own ``depth_multiplier`` filters.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window size (Method 1). Give this, or ``shape``, or ``kernel``.
    strides, dilation : int or (int, int), default 1
    padding : {"valid", "same"}, default "valid"
    depth_multiplier : int, default 1
        Output channels per input channel; output channel ``c*M + m`` comes from input ``c``.
    shape : (h, w, c), optional
        The output shape (Method 2): ``kernel_size`` is derived from the input with "valid"
        padding and the given strides, and ``depth_multiplier = c / C``.
    activation : {"linear", "relu", "relu6"}, default "linear"
    use_bias : bool, default True
    kernel, bias : arrays, optional
        Weights in Keras layout ``(kh, kw, C, M)`` and ``(C*M,)``; checked at ``init()``.
        Otherwise ``model.init(seed=...)`` draws He-normal kernels and zero biases.
    name, color, close_button, init_status, anime_time
        Display options (see :class:`Layer`).
    """

    layer_type = "DepthwiseConv2d"
    keras_class = "DepthwiseConv2D"
    default_color = "#FBBF1F"  # TensorSpace's depthwise colour
    _name_prefix = "depthwise_conv2d"

    def __init__(self, kernel_size=None, *, strides=1, padding="valid", depth_multiplier=None,
                 dilation=1, shape=None, activation="linear", use_bias=True, kernel=None,
                 bias=None, **options):
        super().__init__(kernel_size, strides=strides, padding=padding, dilation=dilation,
                         activation=activation, use_bias=use_bias, kernel=kernel, bias=bias,
                         own_args=(*_CONV_ARGS, "depth_multiplier", "shape"), options=options)
        self._multiplier = None if depth_multiplier is None else as_int(
            depth_multiplier, "depth_multiplier")
        self.shape = None if shape is None else as_shape(shape, "shape")
        if self.shape is not None:
            if kernel_size is not None or kernel is not None:
                given = "kernel_size" if kernel_size is not None else "kernel"
                raise ValueError(
                    f"give either `{given}` (Method 1) or `shape` (Method 2), not both: "
                    f"`shape` derives the kernel size from the input."
                )
            if self.padding != "valid":
                raise ValueError(
                    f"`shape` derives the kernel size for padding='valid'; with "
                    f"padding={self.padding!r} every kernel size gives the same output, so give "
                    f"`kernel_size` instead."
                )
        elif self._kernel_size is None:
            raise TypeError(
                "DepthwiseConv2d() needs `kernel_size` (e.g. kernel_size=3), the output `shape`, "
                "or a `kernel` array."
            )
        if self._given_kernel is not None:
            m = self._given_kernel.shape[3]
            if self._multiplier not in (None, m):
                raise ValueError(
                    f"`depth_multiplier` {self._multiplier} contradicts `kernel` of shape "
                    f"{self._given_kernel.shape} (depth multiplier {m})."
                )
            self._multiplier = m
        self._derived = {}

    @property
    def kernel_size(self):
        return self._kernel_size or self._derived.get("kernel_size")

    @property
    def depth_multiplier(self):
        """Output channels per input channel (derived at ``init()`` when built from ``shape``)."""
        if self._multiplier is not None:
            return self._multiplier
        return self._derived.get("depth_multiplier", None if self.shape else 1)

    def source_channel(self, channel):
        """The input channel that output ``channel`` is computed from (``channel // M``)."""
        return channel // self.depth_multiplier

    @property
    def channel_group(self):
        return self.depth_multiplier

    def get_config(self):
        # The user's own kernel_size / depth_multiplier, not those derived from `shape` at init.
        return {**super().get_config(), "kernel_size": self._kernel_size,
                "depth_multiplier": self._multiplier}

    def _unbuild(self):
        super()._unbuild()
        if self.shape is not None:
            self._derived = {}

    def _kernel_shape(self):
        kh, kw = self.kernel_size
        return kh, kw, self._input_shape[2], self.depth_multiplier

    @staticmethod
    def _fan_in(kernel_shape):
        # Each output sees one input channel: the true fan-in is the window (Keras counts C too,
        # which makes deep depthwise layers' initial outputs nearly vanish).
        return kernel_shape[0] * kernel_shape[1]

    def _derive_from_shape(self, input_shape):
        """Method 2: the kernel size and multiplier that turn the input into ``shape``."""
        kernel_size = []
        for axis, unit in ((0, "rows"), (1, "columns")):
            size, out, s, d = input_shape[axis], self.shape[axis], self.strides[axis], self.dilation[axis]
            span = size - (out - 1) * s  # the exact fit: no input dropped at the end
            k = (span - 1) // d + 1 if span >= 1 else 0
            if k < 1 or (k - 1) * d + 1 < size - out * s + 1:
                raise ValueError(
                    f"`shape` {self.shape} asks for {out} {unit} from an input of {size} {unit} "
                    f"with strides {s} and dilation {d} and padding 'valid': no kernel size gives "
                    f"that (valid padding with stride {s} gives at most {(size - 1) // s + 1})."
                )
            kernel_size.append(k)
        c_in, c_out = input_shape[2], self.shape[2]
        if c_out % c_in:
            raise ValueError(
                f"`shape` {self.shape} has {c_out} channels, not a multiple of the input's {c_in}:"
                f" depth_multiplier = {c_out} / {c_in} must be a whole number."
            )
        if self._multiplier not in (None, c_out // c_in):
            raise ValueError(
                f"`depth_multiplier` {self._multiplier} contradicts `shape` {self.shape}: the "
                f"input has {c_in} channels, so the shape implies {c_out // c_in}."
            )
        self._derived = {"kernel_size": tuple(kernel_size), "depth_multiplier": c_out // c_in}

    def _build(self, input_shapes):
        (input_shape,) = input_shapes
        self._input_shape = require_image(self, input_shape)
        if self.shape is not None:
            self._derive_from_shape(input_shape)
        out = self._out_shape(input_shape, input_shape[2] * self.depth_multiplier)
        self._check_weights(self._kernel_shape(), out[2])
        return out

    def _engine(self, xb, kernel, bias, pads, out_hw):
        out = np.empty((xb.shape[0], *out_hw, kernel.shape[2] * kernel.shape[3]), xb.dtype)
        return depthwise_batch(xb, kernel, bias, self.strides, self.dilation, pads, out_hw, out)

    def runner(self, x_shape, kernel, pads, out_hw):
        """``run(xb, out)``, this convolution without bias for inputs of ``x_shape`` (see
        ``core/inference.py``)."""
        return depthwise_runner(x_shape, kernel, self.strides, self.dilation, pads, out_hw)

    def _per_output(self, values):
        return np.reshape(values, self._kernel.shape[2:])  # output channel c*M + m

    @property
    def config_text(self):
        return f"{self._window_text()} x{self.depth_multiplier or '?'}"


class Conv2d(_Conv):
    """Standard 2D convolution (Keras ``Conv2D``): every filter sees every input channel.

    ``filters`` output channels with a ``kernel_size`` window; the other arguments are those of
    :class:`DepthwiseConv2d`. A 1x1 ``Conv2d`` is the pointwise step of a separable convolution.
    """

    layer_type = "Conv2d"
    keras_class = "Conv2D"
    default_color = "#F7FE2E"  # TensorSpace's conv colour
    _name_prefix = "conv2d"

    def __init__(self, filters=None, kernel_size=None, *, strides=1, padding="valid", dilation=1,
                 groups=1, activation="linear", use_bias=True, kernel=None, bias=None, **options):
        super().__init__(kernel_size, strides=strides, padding=padding, dilation=dilation,
                         activation=activation, use_bias=use_bias, kernel=kernel, bias=bias,
                         own_args=(*_CONV_ARGS, "filters", "groups"), options=options)
        self.filters = None if filters is None else as_int(filters, "filters")
        self.groups = as_int(groups, "groups")
        if self._given_kernel is not None:
            f = self._given_kernel.shape[3]
            if self.filters not in (None, f):
                raise ValueError(
                    f"`filters` {self.filters} contradicts `kernel` of shape "
                    f"{self._given_kernel.shape} ({f} filters)."
                )
            self.filters = f
        if self.filters is None or self._kernel_size is None:
            raise TypeError("Conv2d() needs `filters` and `kernel_size` (or a `kernel` array).")
        if self.filters % self.groups:
            raise ValueError(f"`groups` {self.groups} must divide `filters` {self.filters}.")

    def _kernel_shape(self):
        return (*self.kernel_size, self._input_shape[2] // self.groups, self.filters)

    def _build(self, input_shapes):
        (input_shape,) = input_shapes
        self._input_shape = require_image(self, input_shape)
        if input_shape[2] % self.groups:
            raise ValueError(
                f"`groups` {self.groups} must divide the input's {input_shape[2]} channels.")
        self._check_weights(self._kernel_shape(), self.filters)
        return self._out_shape(input_shape, self.filters)

    def _engine(self, xb, kernel, bias, pads, out_hw):
        return conv2d_batch(xb, kernel, bias, self.strides, self.dilation, pads, out_hw, self.groups)

    def runner(self, x_shape, kernel, pads, out_hw):
        return conv2d_runner(x_shape, kernel, self.strides, self.dilation, pads, out_hw, self.groups)

    @staticmethod
    def _per_output(values):
        return values  # the kernel's last axis is the output channel

    @property
    def config_text(self):
        return f"{self._window_text()} f{self.filters}"


DepthwiseConv2D = DepthwiseConv2d  # Keras's spelling, accepted as the same class
_registry["DepthwiseConv2D"] = DepthwiseConv2d
