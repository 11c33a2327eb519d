"""ONNX ops that only compute shapes or move data, in numpy.

The same functions fold the ``Shape -> Gather -> Unsqueeze -> Concat`` chains exporters emit into
constants, and track where each value of a tensor goes through ``Reshape``/``Transpose``/``Slice``
(run on an array of indices), so a channel shuffle becomes one gather at load.
Each takes ``(inputs, attrs)`` (inputs are arrays or None) and returns a list of outputs.
"""

from __future__ import annotations

import numpy as np

from ._onnx_read import declared_count


def _axes(attrs, inputs, position, ndim):
    """Axes from an attribute (old opsets) or the input at ``position`` (new ones)."""
    axes = attrs.get("axes")
    if axes is None and len(inputs) > position and inputs[position] is not None:
        axes = inputs[position].tolist()
    return None if axes is None else [int(a) % ndim for a in np.atleast_1d(axes)]


def _reshape(inputs, attrs):
    x, shape = inputs[0], [int(v) for v in inputs[1]]
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return [x.reshape(shape)]


def _flatten(inputs, attrs):
    x = inputs[0]
    axis = attrs.get("axis", 1) % max(x.ndim, 1)
    return [x.reshape(int(np.prod(x.shape[:axis])), -1)]


def _squeeze(inputs, attrs):
    x = inputs[0]
    axes = _axes(attrs, inputs, 1, x.ndim)
    return [np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(axes))]


def _unsqueeze(inputs, attrs):
    x = inputs[0]
    axes = attrs.get("axes")
    if axes is None:
        axes = inputs[1].tolist()
    axes = sorted(int(a) % (x.ndim + len(np.atleast_1d(axes))) for a in np.atleast_1d(axes))
    for a in axes:
        x = np.expand_dims(x, a)
    return [x]


def _slice(inputs, attrs):
    x = inputs[0]
    if "starts" in attrs:  # opset < 10
        starts, ends, axes, steps = attrs["starts"], attrs["ends"], attrs.get("axes"), None
    else:
        starts, ends = inputs[1].tolist(), inputs[2].tolist()
        axes = inputs[3].tolist() if len(inputs) > 3 and inputs[3] is not None else None
        steps = inputs[4].tolist() if len(inputs) > 4 and inputs[4] is not None else None
    axes = list(range(len(starts))) if axes is None else [a % x.ndim for a in axes]
    steps = steps or [1] * len(starts)
    index = [slice(None)] * x.ndim
    for a, s, e, st in zip(axes, starts, ends, steps):
        index[a] = slice(int(s), int(e), int(st))  # Python clamps huge ends as ONNX does
    return [x[tuple(index)]]


def _gather(inputs, attrs):
    x, idx = inputs
    axis = attrs.get("axis", 0) % max(x.ndim, 1)
    declared_count([*x.shape[:axis], *idx.shape, *x.shape[axis + 1:]], "Gather")
    return [np.take(x, idx.astype(np.int64), axis=axis)]


def _split(inputs, attrs, n_outputs):
    x = inputs[0]
    axis = attrs.get("axis", 0) % x.ndim
    sizes = attrs.get("split")
    if sizes is None and len(inputs) > 1 and inputs[1] is not None:
        sizes = inputs[1].tolist()
    if sizes is None:
        size = -(-x.shape[axis] // n_outputs)
        sizes = [min(size, x.shape[axis] - i * size) for i in range(n_outputs)]
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def _concat(inputs, attrs):
    return [np.concatenate(inputs, axis=attrs["axis"])]


def _transpose(inputs, attrs):
    return [np.transpose(inputs[0], attrs.get("perm"))]


def _constant_of_shape(inputs, attrs):
    shape = [int(v) for v in inputs[0]]
    declared_count(shape, "ConstantOfShape")
    value = attrs.get("value")
    value = np.zeros(1, np.float32) if value is None else value
    return [np.full(shape, value.reshape(-1)[0], value.dtype)]


def _range(inputs, attrs):
    start, limit, delta = (v.item() for v in inputs)
    declared_count([max(0, int(np.ceil((limit - start) / delta)))], "Range")
    return [np.arange(start, limit, delta, dtype=inputs[0].dtype)]


def _div(inputs, attrs):
    a, b = _broadcast(inputs)
    if np.issubdtype(a.dtype, np.integer):
        return [np.trunc(a / b).astype(a.dtype)]  # ONNX integer division truncates
    return [a / b]


def _cast(inputs, attrs):
    import onnx  # only reached while reading an ONNX file

    return [inputs[0].astype(onnx.helper.tensor_dtype_to_np_dtype(attrs["to"]))]


def _broadcast(inputs):
    """Refuse a broadcast to an absurd size before numpy allocates it."""
    declared_count(np.broadcast_shapes(*(np.shape(v) for v in inputs)), "a constant expression")
    return inputs


def _binary(fn):
    return lambda inputs, attrs: [fn(*_broadcast(inputs))]


def _unary(fn):
    return lambda inputs, attrs: [fn(inputs[0])]


# Ops that only move values: also run on index arrays to follow a tensor through them.
MOVES = {
    "Reshape": _reshape, "Flatten": _flatten, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze,
    "Slice": _slice, "Gather": _gather, "Transpose": _transpose, "Concat": _concat,
    "Identity": lambda inputs, attrs: [inputs[0]],
}
# Ops folded when every input is a constant.
FOLDS = {
    **MOVES,
    "Cast": _cast, "ConstantOfShape": _constant_of_shape, "Range": _range, "Div": _div,
    "Add": _binary(np.add), "Sub": _binary(np.subtract), "Mul": _binary(np.multiply),
    "Equal": _binary(np.equal), "Less": _binary(np.less), "Greater": _binary(np.greater),
    "Where": lambda inputs, attrs: [np.where(*_broadcast(inputs))],
    "Min": lambda inputs, attrs: [np.minimum.reduce(inputs)],
    "Max": lambda inputs, attrs: [np.maximum.reduce(inputs)],
    "Neg": _unary(np.negative), "Abs": _unary(np.abs), "Floor": _unary(np.floor),
    "Ceil": _unary(np.ceil), "Sqrt": _unary(np.sqrt),
    "ReduceProd": lambda inputs, attrs: [
        np.prod(inputs[0], keepdims=bool(attrs.get("keepdims", 1)))],
}


def run(op, inputs, attrs, n_outputs):
    """Outputs of a data op (``Split`` needs to know how many)."""
    if op == "Split":
        return _split(inputs, attrs, n_outputs)
    return FOLDS[op](inputs, attrs)
