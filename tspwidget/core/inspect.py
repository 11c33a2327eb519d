"""The arithmetic behind one output value, and what a layer costs: for teaching, numpy only."""

from __future__ import annotations

import numpy as np

from ._validation import as_int
from .activations import activate, relu
from .layers.base import NotInitializedError
from .layers.conv import DepthwiseConv2d
from .ops import conv_output_shape, conv_pads


def depthwise_breakdown(layer, channel, row, col):
    """How ``layer.neural_value[row, col, channel]`` of a DepthwiseConv2d is computed.

    Returns a dict: the input channel and the multiplier index that feed the output channel, the
    ``kh x kw`` input window (``input_rows``/``input_cols`` say where it sits; cells outside the
    input are zero padding, marked in ``padded``), the kernel slice ``kernel[:, :, c, m]``, their
    products, the bias, the sum, the activation and the resulting value, which equals the value on
    display (``displayed``).
    """
    if not isinstance(layer, DepthwiseConv2d):
        raise TypeError(f"`layer` must be a DepthwiseConv2d, got {layer.layer_type} {layer.name!r}.")
    if layer.neural_value is None:
        raise NotInitializedError(
            f"layer {layer.name!r} has no values yet: call model.predict(...) first.")
    h_out, w_out, c_out = layer.output_shape
    channel = as_int(channel, "channel", minimum=0)
    row, col = as_int(row, "row", minimum=0), as_int(col, "col", minimum=0)
    for name, value, size in (("channel", channel, c_out), ("row", row, h_out), ("col", col, w_out)):
        if value >= size:
            raise ValueError(f"`{name}` must be below {size} for layer {layer.name!r}, got {value}.")
    source = layer.inbound_layers[0].neural_value
    m_count = layer.depth_multiplier
    c_in, m = divmod(channel, m_count)
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.strides, layer.dilation
    (pt, _), (pl, _) = conv_pads(source.shape[:2], (kh, kw), strides=layer.strides,
                                 padding=layer.padding, dilation=layer.dilation)
    rows = [row * sh + i * dh - pt for i in range(kh)]
    cols = [col * sw + j * dw - pl for j in range(kw)]
    padded = np.array([[not (0 <= r < source.shape[0] and 0 <= c < source.shape[1]) for c in cols]
                       for r in rows])
    window = np.array([[0.0 if padded[i, j] else float(source[r, c, c_in])
                        for j, c in enumerate(cols)] for i, r in enumerate(rows)])
    weights = np.asarray(layer.kernel[:, :, c_in, m], np.float64)
    products = window * weights
    bias = float(layer.bias[channel]) if layer.bias is not None else 0.0
    total = float(products.sum() + bias)
    if layer.activation == "relu":
        value = float(relu(np.array([total]))[0])
    else:
        value = float(activate(np.array([total]), layer.activation)[0])
    return {
        "layer": layer.name, "channel": channel, "input_channel": c_in, "multiplier_index": m,
        "row": row, "col": col, "input_rows": rows, "input_cols": cols, "padded": padded,
        "window": window, "kernel": weights, "products": products, "bias": bias, "sum": total,
        "activation": layer.activation, "value": value,
        "displayed": float(layer.neural_value[row, col, channel]),
    }


def conv_costs(input_shape, kernel_size, *, depth_multiplier=1, strides=1, padding="valid",
               dilation=1, use_bias=True):
    """Parameters and multiply-adds of a depthwise layer, of depthwise + pointwise (separable) and
    of a standard convolution, all with the same ``C * depth_multiplier`` output channels."""
    h, w, c = input_shape
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    ho, wo = conv_output_shape((h, w), (kh, kw), strides=strides, padding=padding, dilation=dilation)
    f = c * depth_multiplier
    b = f if use_bias else 0
    depthwise = {"params": kh * kw * f + b, "macs": ho * wo * f * kh * kw}
    # Keras's SeparableConv2D has one bias, after the pointwise step (none on the depthwise one).
    separable = {"params": kh * kw * f + f * f + b, "macs": ho * wo * f * (kh * kw + f)}
    return {
        "output_shape": (ho, wo, f),
        "depthwise": depthwise,
        "separable": separable,
        "standard": {"params": kh * kw * c * f + b, "macs": ho * wo * kh * kw * c * f},
    }


def output_size_steps(input_hw, kernel_size, *, strides=1, padding="valid", dilation=1):
    """The output-size formula with the numbers filled in, one line per axis (plain text).

    Raises the same ValueError as the op when "valid" leaves no output.
    """
    from ._validation import as_padding, as_pair

    kernel_size, strides = as_pair(kernel_size, "kernel_size"), as_pair(strides, "strides")
    dilation, padding = as_pair(dilation, "dilation"), as_padding(padding)
    out = conv_output_shape(input_hw, kernel_size, strides=strides, padding=padding, dilation=dilation)
    pads = conv_pads(input_hw, kernel_size, strides=strides, padding=padding, dilation=dilation)
    lines = []
    for axis, what, sides in ((0, "rows", ("top", "bottom")), (1, "columns", ("left", "right"))):
        n, k, s, d, o = input_hw[axis], kernel_size[axis], strides[axis], dilation[axis], out[axis]
        if padding == "valid":
            lines.append(f"{what}: floor(({n} - ({k} - 1)*{d} - 1) / {s}) + 1 = {o}")
        else:
            total = pads[axis][0] + pads[axis][1]
            lines.append(
                f"{what}: ceil({n} / {s}) = {o}; padding max(({o} - 1)*{s} + ({k} - 1)*{d} + 1 - {n}, 0)"
                f" = {total}: {sides[0]} {pads[axis][0]}, {sides[1]} {pads[axis][1]}")
    return out, lines
