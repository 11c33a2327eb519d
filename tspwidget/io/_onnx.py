"""An ONNX graph (PyTorch's export, say) to a tspwidget model, channel last.

ONNX tensors are NCHW; each becomes a channel-last ``(h, w, c)`` layer output (or a vector), so
every layer, view and ``neural_value`` is ours. Weights are converted once here: a conv weight
``(F, C/g, kh, kw)`` becomes ``(kh, kw, C/g, F)``, a depthwise one ``(C*M, 1, kh, kw)`` our
``(kh, kw, C, M)`` (output ``c*M + m`` from input ``c``, as in torch). Shape arithmetic is folded
to constants; reshapes, transposes and slices are followed on index arrays and become one
``Rearrange`` when they end on a picture again; a Flatten's NCHW order is absorbed by the next
Gemm's rows. Layers carry the torch module names that the exporter put in the node names
(``/features/features.3/conv/conv.1/BatchNormalization`` -> ``features.3.conv.1``) or, for the
dynamo exporter, in each node's ``pkg.torch.onnx.name_scopes`` metadata.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..core import layers as L
from ..core.model import Model
from ..core.ops import conv_pads
from . import _onnx_fold as fold
from ._convert import ModelFileError
from ._onnx_read import declared_count, read_model, tensor_array

SUPPORTED_OPS = tuple(sorted({
    "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv", "Div",
    "Dropout", "Flatten", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid",
    "HardSwish", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad", "ReduceMax", "ReduceMean",
    "Relu", "Shape", "Sigmoid", "Softmax", "Sub", "Tanh", *fold.FOLDS, "Split"}))
_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hard_swish"}


@dataclass
class Sym:
    """A tensor computed by a layer. ``index`` (same shape as the ONNX tensor) says which value of
    the layer's channel-last output each ONNX value is; None when it is the layer's output as is."""

    layer: object
    shape: tuple  # the ONNX (NCHW) shape
    our: tuple  # the layer's output shape for one sample
    index: np.ndarray | None = None

    def indices(self):
        return canonical(self.shape, self.our) if self.index is None else self.index


def canonical(shape, our):
    """Index array of a layer's output seen in ONNX order: (1, C, H, W) from (H, W, C)."""
    flat = np.arange(int(np.prod(our)), dtype=np.int64)
    if len(shape) == 4 and len(our) == 3:
        return flat.reshape(our).transpose(2, 0, 1)[None]
    return flat.reshape(shape)


def ours(shape, where):
    """Our per-sample shape for an ONNX shape: (1, C, H, W) -> (H, W, C), (1, n) -> (n,)."""
    if shape[0] != 1 or len(shape) not in (2, 4):
        raise ModelFileError(f"{where}: a tensor of shape {list(shape)} is neither a picture "
                             f"(1, C, H, W) nor a vector (1, n); tspwidget shows only those.")
    return (shape[2], shape[3], shape[1]) if len(shape) == 4 else (shape[1],)


def module_name(node_name):
    """The torch module path of an exporter's node name (see the module docstring)."""
    parts = node_name.strip("/").split("/")[:-1]
    full, last = "", ""
    for part in parts:
        if last and part.startswith(last + "."):
            full += part[len(last):]
        else:
            full = f"{full}.{part}" if full else part
        last = part
    return full


def scope_of(node):
    """The module a node comes from: the dynamo exporter lists its scopes in the node's metadata
    (a Python list literal, read with ``ast.literal_eval``: data only), TorchScript's in the name."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes" and len(prop.value) < 10_000:
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                break
            if isinstance(scopes, list) and len(scopes) >= 2 and isinstance(scopes[-2], str):
                return scopes[-2]
    return module_name(node.name) if "/" in node.name else ""


def _attrs(onnx, node, folder):
    out = {}
    for a in node.attribute:
        if a.type == onnx.AttributeProto.TENSOR:
            out[a.name] = tensor_array(a.t, folder, f"node {node.name!r} attribute {a.name!r}")
        elif a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            raise ModelFileError(f"node {node.name!r}: op {node.op_type!r} has a subgraph; "
                                 f"control flow is not supported.")
        else:
            value = onnx.helper.get_attribute_value(a)
            out[a.name] = value.decode() if isinstance(value, bytes) else value
    return out


class _Converter:
    def __init__(self, proto, weights, folder):
        import onnx

        self.onnx, self.folder = onnx, folder
        self.values = dict(weights)  # name -> np.ndarray (constant) or Sym
        self.shapes = {}
        self.made = []  # (layer, scope, op) in creation order, for the names
        self.sigmoid_of = {}  # id(sigmoid or hard-sigmoid layer) -> (its input Sym, activation)
        self.our = {}  # id(layer) -> its output shape for one sample
        self._shape_info(proto)

    # ------------------------------------------------------------------ shapes
    def _shape_info(self, proto):
        for info in proto.graph.input:  # a dynamic batch (torch's dynamic_axes) is one sample here
            dims = info.type.tensor_type.shape.dim
            if dims and not dims[0].HasField("dim_value"):
                dims[0].dim_value = 1
        try:
            inferred = self.onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True)
        except Exception as err:  # the file's shapes contradict themselves
            raise ModelFileError(f"the graph's shapes cannot be worked out: {err}") from err
        graph = inferred.graph
        for info in [*graph.input, *graph.value_info, *graph.output]:
            dims = info.type.tensor_type.shape.dim
            if all(d.HasField("dim_value") for d in dims):
                self.shapes[info.name] = tuple(int(d.dim_value) for d in dims)

    # ------------------------------------------------------------------ layers
    def emit(self, layer, inputs, node, out=None):
        """Apply ``layer`` to ``inputs`` (layers) and return the Sym of the node's output."""
        if inputs:
            layer.apply(inputs if len(inputs) > 1 else inputs[0])
        self.made.append((layer, self.scope, node.op_type))
        # The layer's own shape rule (init() runs it again), so shapes after a folded reshape
        # are known even where ONNX's inference gives up; where both exist they must agree.
        our = tuple(layer._build([self.our[id(p)] for p in inputs]))
        declared_count(our, self.where)  # huge pads or the like: refused, never allocated
        self.our[id(layer)] = our
        shape = (1, our[2], our[0], our[1]) if len(our) == 3 else (1, *our)
        name = out or node.output[0]
        if self.shapes.get(name, shape) != shape:
            raise ModelFileError(f"{self.where}: the file says {name!r} has shape "
                                 f"{list(self.shapes[name])}, but it computes {list(shape)}.")
        return Sym(layer, shape, our)

    def layer_of(self, sym, node):
        """A layer whose output is ``sym`` in our layout (adds a Flatten or Rearrange if needed)."""
        target = ours(sym.shape, self.where)
        if sym.index is None:
            return sym.layer
        idx = sym.index[0].transpose(1, 2, 0) if len(sym.shape) == 4 else sym.index[0]
        idx = idx.reshape(-1)
        if np.array_equal(idx, np.arange(int(np.prod(sym.our)))):
            if target == sym.our:
                return sym.layer
            if len(target) == 1:
                return self._helper(L.Flatten(), sym.layer, "Flatten")
        return self._helper(L.Rearrange(idx, target), sym.layer, "Rearrange")

    def _helper(self, layer, source, op):
        """A layer the file has no node for (a flatten, a gather, a padding), fed by ``source``."""
        self.made.append((layer, self.scope, op))
        layer.apply(source)
        self.our[id(layer)] = tuple(layer._build([self.our[id(source)]]))
        declared_count(self.our[id(layer)], self.where)
        return layer

    def image(self, value, node, what="input"):
        if not isinstance(value, Sym) or len(value.shape) != 4:
            raise ModelFileError(f"{self.where}: its {what} must be a computed (1, C, H, W) "
                                 f"tensor, got {_describe(value)}.")
        return self.layer_of(value, node)

    def const(self, value, node, what):
        if not isinstance(value, np.ndarray):
            raise ModelFileError(f"{self.where}: its {what} must be a constant (a weight), got a "
                                 f"computed tensor.")
        return value

    # ------------------------------------------------------------------ the walk
    def convert(self, proto, progress=None, name=None):
        graph = proto.graph
        inputs = []
        for info in graph.input:
            if info.name in self.values:
                continue  # opset < 9 files list initializers as inputs too
            self.where = f"input {info.name!r}"
            shape = self.shapes.get(info.name)
            if shape is None or len(shape) != 4 or shape[0] != 1:
                raise ModelFileError(f"input {info.name!r} has shape {shape}; tspwidget needs a "
                                     f"fixed (1, C, H, W) image input.")
            declared_count(shape, f"input {info.name!r}")
            h, w, c = ours(shape, self.where)
            kind = {3: L.RGBInput, 1: L.GreyscaleInput}.get(c, L.Input3d)
            layer = kind(shape=(h, w, c), name=info.name)
            self.values[info.name] = Sym(layer, shape, (h, w, c))
            self.our[id(layer)] = (h, w, c)
            inputs.append(layer)
        for i, node in enumerate(graph.node):
            self._node(node)
            if progress is not None:
                progress(i + 1, len(graph.node))
        outputs = []
        for info in graph.output:
            self.where = f"output {info.name!r}"
            value = self.values.get(info.name)
            if not isinstance(value, Sym):
                raise ModelFileError(f"output {info.name!r} is a constant, not computed from the "
                                     f"input.")
            self.scope = ""
            outputs.append(self.layer_of(value, None))
        model = Model(inputs, outputs, name=name)
        self._name(model)
        return model

    def _node(self, node):
        op = node.op_type
        self.scope = scope_of(node)
        self.where = f"node {node.name!r} ({op})"
        missing = [n for n in node.input if n and n not in self.values]
        if missing:
            raise ModelFileError(f"{self.where}: input {missing[0]!r} is not computed before it "
                                 f"(the graph is not in order, or the name is wrong).")
        ins = [self.values[n] if n else None for n in node.input]
        attrs = _attrs(self.onnx, node, self.folder)
        if op not in SUPPORTED_OPS:
            raise ModelFileError(f"{self.where}: op {op!r} is not supported. Supported ops: "
                                 f"{', '.join(SUPPORTED_OPS)}.")
        try:
            outs = self._dispatch(op, node, ins, attrs)
        except ModelFileError:
            raise
        except (KeyError, IndexError, AttributeError, TypeError, ValueError) as err:
            # a missing attribute or input, or a value our layers refuse: say where
            raise ModelFileError(f"{self.where}: {type(err).__name__}: {err}") from err
        for name, value in zip(node.output, outs):
            if name:
                if isinstance(value, np.ndarray):
                    declared_count(value.shape, self.where)
                self.values[name] = value

    def _dispatch(self, op, node, ins, attrs):
        """The node's outputs: folded constants, moved indices or a new layer's Sym."""
        if op == "Constant":
            outs = [self._constant(attrs)]
        elif op == "Shape" and isinstance(ins[0], Sym):
            outs = [np.array(ins[0].shape, np.int64)[attrs.get("start", 0):attrs.get("end")]]
        elif all(not isinstance(v, Sym) for v in ins) and op in fold.FOLDS or op == "Split" and \
                not isinstance(ins[0], Sym):
            outs = fold.run(op, ins, attrs, len(node.output))
        elif op == "Flatten":  # shown as a layer, as Keras models show theirs
            outs = [self._op_Flatten(node, ins, attrs)]
        elif op in fold.MOVES or op == "Split":
            outs = self._move(node, ins, attrs)
        elif hasattr(self, f"_op_{op}"):
            outs = [getattr(self, f"_op_{op}")(node, ins, attrs)]
        else:
            outs = [self._generic(op, node, ins, attrs)]
        return outs

    def _constant(self, attrs):
        for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
            if key in attrs:
                return np.asarray(attrs[key])
        raise ModelFileError(f"{self.where}: only tensor and number constants are supported.")

    def _move(self, node, ins, attrs):
        """A reshape/transpose/slice of a computed tensor, run on its index array."""
        syms = [v for v in ins if isinstance(v, Sym)]
        if len({id(s.layer) for s in syms}) > 1 or (node.op_type == "Concat"):
            if node.op_type == "Concat":
                return [self._op_Concat(node, ins, attrs)]
            raise ModelFileError(f"{self.where}: this op mixes values of several layers.")
        sym = syms[0]
        args = [sym.indices() if isinstance(v, Sym) else v for v in ins]
        results = fold.run(node.op_type, args, attrs, len(node.output))
        outs = []
        for name, idx in zip(node.output, results):
            new = Sym(sym.layer, tuple(idx.shape), sym.our, idx)
            if np.array_equal(idx, canonical(new.shape, sym.our)) and len(idx.shape) in (2, 4) \
                    and ours(new.shape, self.where) == sym.our:
                new.index = None
            elif len(idx.shape) == 4:  # back on a picture: show the move as one layer now
                layer = self.layer_of(new, node)
                new = Sym(layer, new.shape, ours(new.shape, self.where))
            outs.append(new)
        return outs

    # ------------------------------------------------------------------ ops
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
        x = self.layer_of(ins[0], node)
        gamma, beta, mean, var = (self.const(v, node, w) for v, w in zip(
            ins[1:5], ("scale", "bias", "mean", "variance")))
        layer = L.BatchNorm(epsilon=attrs.get("epsilon", 1e-5), gamma=gamma, beta=beta,
                            moving_mean=mean, moving_variance=var)
        return self.emit(layer, [x], node)

    def _unary(self, layer, sym, node):
        """An elementwise layer: it keeps a lazily moved vector's order."""
        if sym.index is not None and len(sym.shape) == 2:
            out = self.emit(layer, [sym.layer], node)
            return Sym(layer, sym.shape, sym.our, sym.index)
        return self.emit(layer, [self.layer_of(sym, node)], node)

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
        out.index = canonical(sym.shape, sym.our).reshape(1, -1)
        return out if not np.array_equal(out.index[0], np.arange(out.index.size)) else \
            Sym(layer, out.shape, out.our)

    def _dense(self, node, sym, kernel, bias):
        """Dense on a vector; a lazily ordered input is absorbed by reordering kernel rows."""
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

    def _op_Concat(self, node, ins, attrs):
        syms = [self._sym(v) for v in ins]
        rank = len(syms[0].shape)
        if attrs["axis"] % rank != 1:
            raise ModelFileError(f"{self.where}: Concat is supported along the channels (axis 1), "
                                 f"got axis {attrs['axis']}.")
        return self.emit(L.Concatenate(-1), [self.layer_of(s, node) for s in syms], node)

    def _binary(self, node, ins, merge):
        a, b = ins
        if isinstance(a, Sym) and isinstance(b, Sym):
            if merge == "Mul":
                fused = self._swish(node, a, b)
                if fused is not None:
                    return fused
            layer = L.Add() if merge == "Add" else L.Multiply()
            if merge == "Add" and a.shape != b.shape:
                raise ModelFileError(f"{self.where}: Add of shapes {list(a.shape)} and "
                                     f"{list(b.shape)}; only equal shapes are supported.")
            return self.emit(layer, [self.layer_of(a, node), self.layer_of(b, node)], node)
        sym, const = (a, b) if isinstance(a, Sym) else (b, a)
        if np.asarray(const).size != 1:
            raise ModelFileError(f"{self.where}: {node.op_type} of a tensor and a non-scalar "
                                 f"constant is not supported.")
        v = float(np.asarray(const).reshape(-1)[0])
        first = sym is a
        scale, offset = {"Add": (1.0, v), "Mul": (v, 0.0),
                         "Sub": (1.0, -v) if first else (-1.0, v),
                         "Div": (1.0 / v, 0.0) if first else (None, None)}[node.op_type]
        if scale is None:
            raise ModelFileError(f"{self.where}: a constant divided by a tensor is not supported.")
        return self._unary(L.Rescaling(scale, offset), sym, node)

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

    # ------------------------------------------------------------------ names
    def _name(self, model):
        """Torch module names: the layer that gives a module's output gets the module's name
        (its last layer, when no submodule runs after it), the others ``name/Op``. A module
        called more than once (ResNet's ``relu``) gives ``relu``, ``relu_1``, ... as
        TorchScript's exporter names the calls (the dynamo exporter gives them one scope)."""
        in_model = {id(layer) for layer in model.layers}
        made = [item for item in self.made if id(item[0]) in in_model]
        by_scope = defaultdict(list)
        for k, (layer, scope, op) in enumerate(made):
            by_scope[scope].append((k, layer, op))
        taken = {layer.name for layer in model.inputs}
        for scope, items in by_scope.items():
            if scope and len(items) > 1 and len({op for _, _, op in items}) == 1 and not any(
                    s.startswith(scope + ".") for _, s, _ in made):
                for n, (_, layer, _) in enumerate(items):
                    name, extra = (scope if n == 0 else f"{scope}_{n}"), 1
                    while name in taken:
                        extra += 1
                        name = f"{scope}_{n}_{extra}"
                    taken.add(name)
                    layer.name = name
                continue
            last = items[-1][0]
            gives_output = bool(scope) and not any(
                s.startswith(scope + ".") for _, s, _ in made[last + 1:])
            for k, layer, op in items:
                base = scope if k == last and gives_output else (
                    f"{scope}/{op}" if scope else op)
                name, n = base, 1
                while name in taken:
                    n += 1
                    name = f"{base}_{n}"
                taken.add(name)
                layer.name = name


def _describe(value):
    if isinstance(value, Sym):
        return f"a tensor of shape {list(value.shape)}"
    return "nothing" if value is None else f"a constant of shape {list(np.shape(value))}"


def load_onnx(path, *, progress=None, data=None, name=None):
    """Read an ONNX file (or its bytes, ``data``) into an initialised tspwidget model."""
    from pathlib import Path

    proto, weights, _ = read_model(path, data)
    try:
        model = _Converter(proto, weights, Path(path).parent).convert(proto, progress, name or Path(path).stem)
    except ModelFileError:
        raise
    except (ValueError, TypeError) as err:  # a value our layers refuse
        raise ModelFileError(f"{path}: {err}") from err
    try:
        return model.init()
    except (ValueError, TypeError) as err:
        raise ModelFileError(f"{path}: {err}") from err
