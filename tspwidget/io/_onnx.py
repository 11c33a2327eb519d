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
from pathlib import Path

import numpy as np

from ..core import layers as L
from ..core.model import Model
from . import _onnx_fold as fold
from ._convert import ModelFileError
from ._onnx_ops import SUPPORTED_OPS, LayerOps, Sym, canonical, describe, ours
from ._onnx_read import declared_count, read_model, tensor_array

__all__ = ["SUPPORTED_OPS", "load_onnx"]


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
    (a Python list literal, read with ``ast.literal_eval``: data only), TorchScript's in the
    node name."""
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


class _Converter(LayerOps):
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
            inferred = self.onnx.shape_inference.infer_shapes(proto, strict_mode=True,
                                                              data_prop=True)
        except Exception as err:  # the file's shapes contradict themselves
            raise ModelFileError(f"the graph's shapes cannot be worked out: {err}") from err
        graph = inferred.graph
        for info in [*graph.input, *graph.value_info, *graph.output]:
            tensor = info.type.tensor_type
            if tensor.HasField("shape") and all(d.HasField("dim_value") for d in tensor.shape.dim):
                self.shapes[info.name] = tuple(int(d.dim_value) for d in tensor.shape.dim)

    # ------------------------------------------------------------------ layers
    def emit(self, layer, inputs, node, out=None, layout="nchw"):
        """Apply ``layer`` to ``inputs`` (layers) and return the Sym of the node's output."""
        if inputs:
            layer.apply(inputs if len(inputs) > 1 else inputs[0])
        self.made.append((layer, self.scope, node.op_type))
        # The layer's own shape rule (init() runs it again), so shapes after a folded reshape
        # are known even where ONNX's inference gives up; where both exist they must agree.
        our = tuple(layer._build([self.our[id(p)] for p in inputs]))
        declared_count(our, self.where)  # huge pads or the like: refused, never allocated
        self.our[id(layer)] = our
        shape = (1, our[2], our[0], our[1]) if len(our) == 3 and layout == "nchw" else (1, *our)
        name = out or node.output[0]
        if self.shapes.get(name, shape) != shape:
            raise ModelFileError(f"{self.where}: the file says {name!r} has shape "
                                 f"{list(self.shapes[name])}, but it computes {list(shape)}.")
        return Sym(layer, shape, our, layout=layout if len(our) == 3 else "nchw")

    def layer_of(self, sym, node):
        """A layer whose output is ``sym`` in our layout (adds a Flatten or Rearrange if needed)."""
        target = ours(sym.shape, self.where, sym.layout)
        if sym.index is None:
            return sym.layer
        nchw = len(sym.shape) == 4 and sym.layout == "nchw"
        idx = sym.index[0].transpose(1, 2, 0) if nchw else sym.index[0]
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
        if not isinstance(value, Sym) or len(value.shape) != 4 or value.layout != "nchw":
            raise ModelFileError(f"{self.where}: its {what} must be a computed (1, C, H, W) "
                                 f"tensor, got {describe(value)}.")
        return self.layer_of(value, node)

    def const(self, value, node, what):
        if not isinstance(value, np.ndarray):
            raise ModelFileError(f"{self.where}: its {what} must be a constant (a weight), got a "
                                 f"computed tensor.")
        return value

    # ------------------------------------------------------------------ the walk
    def convert(self, proto, progress=None, name=None, model_class=Model):
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
        model = model_class(inputs, outputs, name=name)
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
        except ModelFileError as err:
            if str(err).startswith(("node ", "initializer ")):
                raise
            raise ModelFileError(f"{self.where}: {err}") from err
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
        for _name, idx in zip(node.output, results):
            new = Sym(sym.layer, tuple(idx.shape), sym.our, idx)
            if len(idx.shape) in (2, 4) and idx.shape[0] == 1 and ours(
                    new.shape, self.where) == sym.our and np.array_equal(
                        idx, canonical(new.shape, sym.our)):
                new.index = None
            elif len(idx.shape) == 4 and idx.shape[0] == 1 and ours(
                    new.shape, self.where, "nhwc") == sym.our and np.array_equal(
                        idx, canonical(new.shape, sym.our, "nhwc")):
                new.index, new.layout = None, "nhwc"  # the picture, channel last: as ours
            elif len(idx.shape) == 4:  # back on a picture: show the move as one layer now
                layer = self.layer_of(new, node)
                new = Sym(layer, new.shape, ours(new.shape, self.where))
            outs.append(new)
        return outs

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


def load_onnx(path, *, progress=None, data=None, name=None, model_class=Model):
    """Read an ONNX file (or its bytes, ``data``) into an initialised ``model_class``."""
    proto, weights, _ = read_model(path, data)
    try:
        converter = _Converter(proto, weights, Path(path).parent)
        model = converter.convert(proto, progress, name or Path(path).stem, model_class)
    except ModelFileError:
        raise
    except (ValueError, TypeError) as err:  # a value our layers refuse
        raise ModelFileError(f"{path}: {err}") from err
    try:
        return model.init()
    except (ValueError, TypeError) as err:
        raise ModelFileError(f"{path}: {err}") from err
