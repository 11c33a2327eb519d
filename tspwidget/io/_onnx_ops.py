"""The layers ONNX ops become: one method per op, on the converter of ``_onnx``.

A method gets the node, its inputs (numpy constants or ``Sym`` tensors computed by layers) and
its attributes, makes our layer with the weights converted to channel last, and returns the
output ``Sym``. Anything it cannot show faithfully is a ModelFileError naming the node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import layers as L
from ..core.ops import conv_pads
from . import _onnx_fold as fold
from ._convert import ModelFileError

SUPPORTED_OPS = tuple(sorted({
    "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv",
    "ConvTranspose", "Div", "Erf", "Gelu", "LayerNormalization",
    "Dropout", "Flatten", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid",
    "HardSwish", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad", "ReduceMax", "ReduceMean",
    "Relu", "Resize", "Shape", "Sigmoid", "Softmax", "Sub", "Tanh", *fold.FOLDS, "Split"}))
_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hard_swish"}


@dataclass
class Sym:
    """A tensor computed by a layer. ``index`` (same shape as the ONNX tensor) says which value of
    the layer's channel-last output each ONNX value is; None when it is the layer's output as is."""

    layer: object
    shape: tuple  # the ONNX shape: (1, C, H, W), or (1, H, W, C) with layout "nhwc"
    our: tuple  # the layer's output shape for one sample
    index: np.ndarray | None = None
    layout: str = "nchw"  # "nhwc": a picture permuted channel last (ConvNeXt's LayerNorm)

    def indices(self):
        return canonical(self.shape, self.our, self.layout) if self.index is None else self.index


def canonical(shape, our, layout="nchw"):
    """Index array of a layer's output seen in ONNX order: (1, C, H, W) from (H, W, C)."""
    flat = np.arange(int(np.prod(our)), dtype=np.int64)
    if len(shape) == 4 and len(our) == 3 and layout == "nchw":
        return flat.reshape(our).transpose(2, 0, 1)[None]
    return flat.reshape(shape)


def ours(shape, where, layout="nchw"):
    """Our per-sample shape for an ONNX shape: (1, C, H, W) -> (H, W, C), (1, n) -> (n,)."""
    if shape[0] != 1 or len(shape) not in (2, 4):
        raise ModelFileError(f"{where}: a tensor of shape {list(shape)} is neither a picture "
                             f"(1, C, H, W) nor a vector (1, n); tspwidget shows only those.")
    if len(shape) == 2:
        return (shape[1],)
    return tuple(shape[1:]) if layout == "nhwc" else (shape[2], shape[3], shape[1])


class LayerOps:
    """Op methods (``_op_<OpType>``) and their helpers; the converter provides ``emit``,
    ``layer_of``, ``image``, ``const``, ``_helper``, ``_move``, ``where`` and ``sigmoid_of``."""

    def _op_Conv(self, node, ins, attrs):
        x = self.image(ins[0], node)
        weight = self.const(ins[1], node, "weight")
        bias = None if len(ins) < 3 or ins[2] is None else self.const(ins[2], node, "bias")
        if weight.ndim != 4:
            raise ModelFileError(f"{self.where}: only 2D convolutions are supported, the weight "
                                 f"has shape {list(weight.shape)}.")
        f, cg, kh, kw = weight.shape
        c = ins[0].shape[1]
        groups = attrs.get("group", 1)
        strides = tuple(attrs.get("strides", (1, 1)))
        dilation = tuple(attrs.get("dilations", (1, 1)))
        x, padding = self._pads(x, node, ins[0].shape[2:], (kh, kw), strides, dilation, attrs)
        common = dict(strides=strides, padding=padding, dilation=dilation,
                      use_bias=bias is not None, bias=bias)
        if groups == c and cg == 1 and f % c == 0 and c > 1:
            kernel = weight.reshape(c, f // c, kh, kw).transpose(2, 3, 0, 1)
            layer = L.DepthwiseConv2d(kernel=kernel, **common)
        else:
            layer = L.Conv2d(f, (kh, kw), groups=groups, kernel=weight.transpose(2, 3, 1, 0),
                             **common)
        return self.emit(layer, [x], node)

    def _op_ConvTranspose(self, node, ins, attrs):
        x = self.image(ins[0], node)
        weight = self.const(ins[1], node, "weight")  # (C, F / group, kh, kw)
        bias = None if len(ins) < 3 or ins[2] is None else self.const(ins[2], node, "bias")
        if weight.ndim != 4 or attrs.get("group", 1) != 1 or attrs.get("auto_pad", "NOTSET") \
                != "NOTSET" or "output_shape" in attrs:
            raise ModelFileError(f"{self.where}: only 2D ConvTranspose with group 1 and explicit "
                                 f"pads (no auto_pad or output_shape) is supported.")
        p = list(attrs.get("pads", (0, 0, 0, 0)))
        layer = L.Conv2dTranspose(
            kernel=weight.transpose(2, 3, 1, 0), bias=bias, use_bias=bias is not None,
            strides=tuple(attrs.get("strides", (1, 1))), pads=((p[0], p[2]), (p[1], p[3])),
            output_padding=tuple(attrs.get("output_padding", (0, 0))),
            dilation=tuple(attrs.get("dilations", (1, 1))))
        return self.emit(layer, [x], node)

    def _pads(self, x, node, hw, kernel, strides, dilation, attrs):
        """``(input layer, padding)``: "valid"/"same" when they are the file's pads, else a
        Padding2d layer in front (torch pads symmetrically, TensorFlow's "same" does not)."""
        auto = attrs.get("auto_pad", "NOTSET")
        if auto == "VALID":
            return x, "valid"
        same = conv_pads(tuple(hw), kernel, strides=strides, padding="same", dilation=dilation)
        if auto == "SAME_UPPER":
            return x, "same"
        if auto == "SAME_LOWER":
            pads = tuple((b, a) for a, b in same)
        elif auto == "NOTSET":
            p = list(attrs.get("pads", (0, 0, 0, 0)))
            pads = ((p[0], p[2]), (p[1], p[3]))
        else:
            raise ModelFileError(f"{self.where}: auto_pad {auto!r} is not supported.")
        if pads == ((0, 0), (0, 0)):
            return x, "valid"
        if pads == tuple(tuple(int(v) for v in pair) for pair in same):
            return x, "same"
        return self._helper(L.Padding2d(pads), x, "Pad"), "valid"

    def _op_BatchNormalization(self, node, ins, attrs):
        if attrs.get("training_mode", 0):
            raise ModelFileError(f"{self.where}: a BatchNormalization in training mode; export the "
                                 f"model in eval mode.")
        sym = self._sym(ins[0])  # normalises axis 1: the channels of a picture or a vector
        x = self.image(sym, node) if len(sym.shape) == 4 else self.layer_of(sym, node)
        gamma, beta, mean, var = (self.const(v, node, w) for v, w in zip(
            ins[1:5], ("scale", "bias", "mean", "variance")))
        layer = L.BatchNorm(epsilon=attrs.get("epsilon", 1e-5), gamma=gamma, beta=beta,
                            moving_mean=mean, moving_variance=var)
        return self.emit(layer, [x], node)

    def _unary(self, layer, sym, node):
        """An elementwise layer: it keeps a lazily moved vector's order."""
        if sym.index is not None and len(sym.shape) == 2:
            self.emit(layer, [sym.layer], node)
            return Sym(layer, sym.shape, sym.our, sym.index)
        return self.emit(layer, [self.layer_of(sym, node)], node, layout=sym.layout)

    def _generic(self, op, node, ins, attrs):
        if op in _ACTIVATIONS:
            layer = L.Activation(_ACTIVATIONS[op])
            if op == "Sigmoid":
                self.sigmoid_of[id(layer)] = (ins[0], "swish")
            return self._unary(layer, self._sym(ins[0]), node)
        raise ModelFileError(f"{self.where}: op {op!r} is not supported here.")  # pragma: no cover

    def _sym(self, value):
        if not isinstance(value, Sym):
            raise ModelFileError(f"{self.where}: its input must be computed from the model input, "
                                 f"got a constant.")
        return value

    def _op_HardSigmoid(self, node, ins, attrs):
        alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
        if np.isclose(alpha, 1 / 6) and np.isclose(beta, 0.5):
            name = "hard_sigmoid"  # PyTorch's: relu6(x + 3) / 6
        elif np.isclose(alpha, 0.2) and np.isclose(beta, 0.5):
            name = "hard_sigmoid_legacy"
        else:
            raise ModelFileError(f"{self.where}: HardSigmoid alpha={alpha}, beta={beta} is not "
                                 f"supported (alpha 1/6 or 0.2 with beta 0.5 are).")
        layer = L.Activation(name)
        self.sigmoid_of[id(layer)] = (ins[0], "hard_swish")
        return self._unary(layer, self._sym(ins[0]), node)

    def _op_LayerNormalization(self, node, ins, attrs):
        sym = self._sym(ins[0])
        channel_axis = len(sym.shape) == 2 or sym.layout == "nhwc"
        if attrs.get("axis", -1) % len(sym.shape) != len(sym.shape) - 1 or not channel_axis:
            raise ModelFileError(f"{self.where}: LayerNormalization is supported over the last "
                                 f"axis of a vector or a channel-last picture only.")
        gamma = self.const(ins[1], node, "scale")
        beta = None if len(ins) < 3 or ins[2] is None else self.const(ins[2], node, "bias")
        layer = L.LayerNorm(epsilon=attrs.get("epsilon", 1e-5), gamma=gamma, beta=beta)
        return self._unary(layer, sym, node)

    def _op_Erf(self, node, ins, attrs):
        return self._unary(L.Activation("erf"), self._sym(ins[0]), node)

    def _op_Gelu(self, node, ins, attrs):
        name = "gelu_erf" if attrs.get("approximate", "none") == "none" else "gelu_tanh"
        return self._unary(L.Activation(name), self._sym(ins[0]), node)

    def _op_LeakyRelu(self, node, ins, attrs):
        layer = L.Activation("relu", negative_slope=attrs.get("alpha", 0.01))
        return self._unary(layer, self._sym(ins[0]), node)

    def _op_Clip(self, node, ins, attrs):
        low = attrs.get("min", ins[1] if len(ins) > 1 else None)
        high = attrs.get("max", ins[2] if len(ins) > 2 else None)
        low = None if low is None else float(self.const(np.asarray(low), node, "min"))
        high = None if high is None else float(self.const(np.asarray(high), node, "max"))
        if low != 0:
            raise ModelFileError(f"{self.where}: Clip from {low} is not supported (Clip from 0, "
                                 f"ReLU6 and the like, is).")
        return self._unary(L.Activation("relu", max_value=high), self._sym(ins[0]), node)

    def _op_Softmax(self, node, ins, attrs):
        sym = self._sym(ins[0])
        if len(sym.shape) != 2 or attrs.get("axis", -1) not in (1, -1):
            raise ModelFileError(f"{self.where}: Softmax is supported over a vector only.")
        return self.emit(L.Activation("softmax"), [self.layer_of(sym, node)], node)

    def _op_Dropout(self, node, ins, attrs):
        rate = attrs.get("ratio", ins[1] if len(ins) > 1 and ins[1] is not None else 0.5)
        return self._unary(L.Dropout(float(np.asarray(rate))), self._sym(ins[0]), node)

    def _op_Pad(self, node, ins, attrs):
        x = self.image(ins[0], node)
        if attrs.get("mode", "constant") != "constant":
            raise ModelFileError(f"{self.where}: only constant (zero) padding is supported.")
        pads = attrs.get("pads", ins[1] if len(ins) > 1 else None)
        pads = [int(v) for v in self.const(np.asarray(pads), node, "pads")]
        value = ins[2] if len(ins) > 2 and ins[2] is not None else attrs.get("value", 0.0)
        axes = ins[3] if len(ins) > 3 and ins[3] is not None else None
        if axes is not None:
            full = [0] * 8
            for k, a in enumerate(int(a) % 4 for a in axes):
                full[a], full[a + 4] = pads[k], pads[k + len(axes)]
            pads = full
        if float(np.asarray(value)) != 0 or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
            raise ModelFileError(f"{self.where}: only zero padding of rows and columns is "
                                 f"supported, got pads {pads}.")
        return self.emit(L.Padding2d(((pads[2], pads[6]), (pads[3], pads[7]))), [x], node)

    def _pool(self, node, ins, attrs, mode):
        x = self.image(ins[0], node)
        kernel = tuple(attrs["kernel_shape"])
        strides = tuple(attrs.get("strides", (1, 1)))
        if any(d != 1 for d in attrs.get("dilations", (1, 1))) or len(node.output) > 1 and \
                node.output[1]:
            raise ModelFileError(f"{self.where}: dilated pooling and pooling indices are not "
                                 f"supported.")
        auto = attrs.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "VALID"):
            layer = L.Pooling2d(kernel, strides=strides, mode=mode,
                                padding="same" if auto == "SAME_UPPER" else "valid")
        elif auto == "NOTSET":
            p = list(attrs.get("pads", (0, 0, 0, 0)))
            layer = L.Pooling2d(kernel, strides=strides, mode=mode,
                                pads=((p[0], p[2]), (p[1], p[3])),
                                ceil_mode=bool(attrs.get("ceil_mode", 0)),
                                count_include_pad=bool(attrs.get("count_include_pad", 0)))
        else:
            raise ModelFileError(f"{self.where}: auto_pad {auto!r} is not supported.")
        return self.emit(layer, [x], node)

    def _op_MaxPool(self, node, ins, attrs):
        return self._pool(node, ins, attrs, "max")

    def _op_AveragePool(self, node, ins, attrs):
        return self._pool(node, ins, attrs, "avg")

    def _global(self, node, ins, mode, keepdims=True):
        return self.emit(L.GlobalPooling2d(mode, keepdims=keepdims), [self.image(ins[0], node)],
                         node)

    def _op_GlobalAveragePool(self, node, ins, attrs):
        return self._global(node, ins, "avg")

    def _op_GlobalMaxPool(self, node, ins, attrs):
        return self._global(node, ins, "max")

    def _reduce(self, node, ins, attrs, mode):
        sym = self._sym(ins[0])
        axes = fold._axes(attrs, ins, 1, len(sym.shape))
        if len(sym.shape) != 4 or sorted(axes or ()) != [2, 3]:
            raise ModelFileError(f"{self.where}: {node.op_type} is supported over the rows and "
                                 f"columns of a picture (axes [2, 3]), got axes {axes}.")
        return self._global(node, ins, mode, keepdims=bool(attrs.get("keepdims", 1)))

    def _op_ReduceMean(self, node, ins, attrs):
        return self._reduce(node, ins, attrs, "avg")

    def _op_ReduceMax(self, node, ins, attrs):
        return self._reduce(node, ins, attrs, "max")

    def _op_Flatten(self, node, ins, attrs):
        sym = self._sym(ins[0])
        if attrs.get("axis", 1) != 1 or len(sym.shape) != 4:
            return self._move(node, ins, attrs)[0]
        layer = L.Flatten()
        out = self.emit(layer, [self.layer_of(sym, node)], node)
        # Our Flatten keeps the (h, w, c) order; torch's is (c, h, w): remembered, not moved.
        out.index = canonical(sym.shape, sym.our, sym.layout).reshape(1, -1)
        return out if not np.array_equal(out.index[0], np.arange(out.index.size)) else \
            Sym(layer, out.shape, out.our)

    def _dense(self, node, sym, kernel, bias):
        """Dense on a vector; a lazily ordered input is absorbed by reordering kernel rows. On a
        channel-last picture (ConvNeXt's Linear) it acts on every pixel, a 1x1 convolution."""
        if sym.layout == "nhwc" and sym.index is None:
            layer = L.Dense(kernel.shape[1], kernel=kernel, bias=bias, use_bias=bias is not None)
            return self.emit(layer, [sym.layer], node, layout="nhwc")
        if len(sym.shape) != 2:
            raise ModelFileError(f"{self.where}: a matrix product is supported on a vector "
                                 f"(1, n) only, got shape {list(sym.shape)}.")
        source = sym
        idx = sym.index
        if idx is not None and len(sym.our) == 1 and np.array_equal(
                np.sort(idx[0]), np.arange(sym.our[0])):
            rows = np.empty_like(kernel)
            rows[idx[0]] = kernel
            kernel, x = rows, sym.layer
        else:
            x = self.layer_of(source, node)
        layer = L.Dense(kernel.shape[1], kernel=kernel, bias=bias, use_bias=bias is not None)
        return self.emit(layer, [x], node)

    def _op_Gemm(self, node, ins, attrs):
        if attrs.get("transA", 0):
            raise ModelFileError(f"{self.where}: Gemm with transA=1 is not supported.")
        b = self.const(ins[1], node, "B")
        kernel = (b.T if attrs.get("transB", 0) else b) * np.float32(attrs.get("alpha", 1.0))
        bias = None
        if len(ins) > 2 and ins[2] is not None:
            c = self.const(ins[2], node, "C") * np.float32(attrs.get("beta", 1.0))
            bias = np.broadcast_to(c.reshape(-1) if c.size > 1 else c, (kernel.shape[1],))
        return self._dense(node, self._sym(ins[0]), kernel, bias)

    def _op_MatMul(self, node, ins, attrs):
        return self._dense(node, self._sym(ins[0]), self.const(ins[1], node, "B"), None)

    def _op_Resize(self, node, ins, attrs):
        """PyTorch's ``interpolate``: nearest (asymmetric, floor) or bilinear (half-pixel, or
        align_corners), to a size given as ``sizes`` or ``scales``."""
        x = self.image(ins[0], node)
        n, c, h, w = ins[0].shape
        sizes = ins[3] if len(ins) > 3 and ins[3] is not None else None
        scales = ins[2] if len(ins) > 2 and ins[2] is not None else None
        if sizes is not None:
            out = [int(v) for v in self.const(sizes, node, "sizes")]
        elif scales is not None:
            scales = self.const(scales, node, "scales")
            out = [int(np.floor(d * s)) for d, s in zip((n, c, h, w), scales)]
        else:
            raise ModelFileError(f"{self.where}: Resize needs constant sizes or scales.")
        if len(out) != 4 or out[:2] != [n, c]:
            raise ModelFileError(f"{self.where}: only the rows and columns of a picture can be "
                                 f"resized, got the size {out} for shape {[n, c, h, w]}.")
        mode = attrs.get("mode", "nearest")
        coords = attrs.get("coordinate_transformation_mode", "half_pixel")
        if mode == "nearest" and coords == "asymmetric" and attrs.get(
                "nearest_mode", "round_prefer_floor") == "floor":
            layer = L.Upsampling2d(out[2:], mode="nearest")
        elif mode == "linear" and coords in ("half_pixel", "pytorch_half_pixel", "align_corners"):
            layer = L.Upsampling2d(out[2:], mode="bilinear",
                                   align_corners=coords == "align_corners")
        else:
            raise ModelFileError(
                f"{self.where}: Resize mode {mode!r} with coordinate_transformation_mode "
                f"{coords!r} and nearest_mode {attrs.get('nearest_mode')!r} is not supported "
                f"(PyTorch's nearest and bilinear interpolation are).")
        return self.emit(layer, [x], node)

    def _op_Concat(self, node, ins, attrs):
        syms = [self._sym(v) for v in ins]
        if len(syms) == 1:  # torch.cat([x]) (DenseNet's first layer): x itself
            return syms[0]
        rank, layout = len(syms[0].shape), syms[0].layout
        channels = 3 if rank == 4 and layout == "nhwc" else 1
        if attrs["axis"] % rank != channels or any(s.layout != layout for s in syms):
            raise ModelFileError(f"{self.where}: Concat is supported along the channels only, "
                                 f"got axis {attrs['axis']} of shape {list(syms[0].shape)}.")
        return self.emit(L.Concatenate(-1), [self.layer_of(s, node) for s in syms], node,
                         layout=layout)

    def _binary(self, node, ins, merge):
        a, b = ins
        if isinstance(a, Sym) and isinstance(b, Sym):
            if merge == "Mul":
                fused = self._swish(node, a, b)
                if fused is not None:
                    return fused
            layer = L.Add() if merge == "Add" else L.Multiply()
            if merge == "Add" and a.shape != b.shape or a.layout != b.layout:
                raise ModelFileError(f"{self.where}: {merge} of shapes {list(a.shape)} and "
                                     f"{list(b.shape)} is not supported.")
            return self.emit(layer, [self.layer_of(a, node), self.layer_of(b, node)], node,
                             layout=a.layout)
        sym, const = (a, b) if isinstance(a, Sym) else (b, a)
        layer = sym.layer
        if (merge == "Add" and isinstance(layer, L.Dense) and layer.bias is None
                and sym.index is None and np.asarray(const).size == layer.units > 1):
            # MatMul then Add of a bias vector (TensorFlow's exports, a Linear on a matrix):
            # one Dense with a bias, in place of the bias-free one
            dense = L.Dense(layer.units, kernel=layer.kernel, bias=np.asarray(const).reshape(-1))
            return self.emit(dense, layer.inbound_layers, node, layout=sym.layout)
        v = self._per_channel(node, sym, np.asarray(const, np.float32))
        first = sym is a
        scale, offset = {"Add": (1.0, v), "Mul": (v, 0.0),
                         "Sub": (1.0, -v) if first else (-1.0, v),
                         "Div": (1.0 / v, 0.0) if first else (None, None)}[node.op_type]
        if scale is None:
            raise ModelFileError(f"{self.where}: a constant divided by a tensor is not supported.")
        if v.size == 1:
            return self._unary(L.Rescaling(float(np.asarray(scale).reshape(-1)[0]),
                                           float(np.asarray(offset).reshape(-1)[0])), sym, node)
        return self._unary(L.ChannelAffine(scale, offset), sym, node)

    def _per_channel(self, node, sym, const):
        """A constant operand as one number, or one per channel (``(1, C, 1, 1)`` on a picture,
        ``(n,)`` on a vector); anything else is refused."""
        if const.size == 1:
            return const.reshape(1)
        shape = (1,) * (len(sym.shape) - const.ndim) + const.shape
        if len(sym.shape) == 4 and sym.layout == "nchw":
            wanted = (1, sym.shape[1], 1, 1)
        else:  # a vector, or a channel-last picture
            wanted = (1,) * (len(sym.shape) - 1) + (sym.shape[-1],)
        if shape != wanted or (sym.index is not None and len(sym.shape) == 2):
            raise ModelFileError(f"{self.where}: {node.op_type} of a tensor of "
                                 f"shape {list(sym.shape)} and a constant of shape "
                                 f"{list(const.shape)} is not supported (a number, or one per "
                                 f"channel, is).")
        return const.reshape(-1)

    def _swish(self, node, a, b):
        """``x * sigmoid(x)`` (SiLU) and ``x * hardsigmoid(x)`` as one activation."""
        for x, gate in ((a, b), (b, a)):
            source = self.sigmoid_of.get(id(gate.layer))
            if source is not None and source[0].layer is x.layer and (
                    source[0].index is None) == (x.index is None):
                return self._unary(L.Activation(source[1]), x, node)
        return None

    def _op_Add(self, node, ins, attrs):
        return self._binary(node, ins, "Add")

    def _op_Mul(self, node, ins, attrs):
        return self._binary(node, ins, "Mul")

    def _op_Sub(self, node, ins, attrs):
        return self._binary(node, ins, "Sub")

    def _op_Div(self, node, ins, attrs):
        return self._binary(node, ins, "Div")


def describe(value):
    if isinstance(value, Sym):
        return f"a tensor of shape {list(value.shape)}"
    return "nothing" if value is None else f"a constant of shape {list(np.shape(value))}"
