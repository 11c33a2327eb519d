"""An ONNX file as data: the graph and its weights, checked before any large array is made.

Weights (initializers and ``Constant`` nodes) are read from the protobuf or, for external data,
from files that must lie inside the model's folder; every tensor's declared shape is compared with
the bytes actually stored, and absurd totals are refused, before numpy sees it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ._convert import ModelFileError

MAX_VALUES = 1 << 28  # one tensor: 256 Mi values (1 GiB of float32), far above any CNN layer
MIN_OPSET = 11
_DOMAINS = ("", "ai.onnx")


def _onnx():
    try:
        import onnx  # the optional extra: pip install tspwidget[onnx]
    except ModuleNotFoundError as err:
        raise ModelFileError("reading .onnx files needs the onnx package: "
                             "pip install 'tspwidget[onnx]'") from err
    return onnx


def _dtype(onnx, tensor, where):
    allowed = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
               onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT16,
               onnx.TensorProto.INT8, onnx.TensorProto.UINT8, onnx.TensorProto.BOOL}
    if tensor.data_type not in allowed:
        name = onnx.TensorProto.DataType.Name(tensor.data_type) if tensor.data_type in \
            onnx.TensorProto.DataType.values() else tensor.data_type
        raise ModelFileError(f"{where}: tensor type {name} is not supported (float, int and bool "
                             f"tensors are).")
    return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type))


def declared_count(dims, where):
    """The number of values a shape declares, refusing negative dims and absurd totals."""
    dims = [int(d) for d in dims]
    if any(d < 0 for d in dims):
        raise ModelFileError(f"{where}: declared shape {dims} has a negative dimension.")
    count = math.prod(dims)
    if count > MAX_VALUES:
        raise ModelFileError(f"{where}: declared shape {dims} has {count:,} values, more than the "
                             f"{MAX_VALUES:,} tspwidget accepts for one tensor.")
    return count


def _external(tensor, folder, count, dtype, where):
    info = {e.key: e.value for e in tensor.external_data}
    location = info.get("location", "")
    root = folder.resolve()
    target = (root / location).resolve()
    if not location or Path(location).is_absolute() or not target.is_relative_to(root):
        raise ModelFileError(f"{where}: external data {location!r} is outside the model's folder "
                             f"{str(folder)!r}; only files inside it are read.")
    if not target.is_file():
        raise ModelFileError(f"{where}: external data file {location!r} does not exist.")
    size = target.stat().st_size
    try:
        offset = int(info.get("offset", 0))
        length = int(info.get("length", size - offset))
    except ValueError as err:
        raise ModelFileError(f"{where}: external data offset/length are not integers.") from err
    if offset < 0 or length != count * dtype.itemsize or offset + length > size:
        raise ModelFileError(f"{where}: external data ({length} bytes at offset {offset} of a "
                             f"{size}-byte file) does not hold the declared {count:,} values.")
    with open(target, "rb") as f:
        f.seek(offset)
        return np.frombuffer(f.read(length), dtype.newbyteorder("<"))


def tensor_array(tensor, folder, where):
    """A TensorProto as a numpy array, its declared size checked against what is stored."""
    onnx = _onnx()
    dtype = _dtype(onnx, tensor, where)
    count = declared_count(tensor.dims, where)
    dims = tuple(int(d) for d in tensor.dims)
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        return _external(tensor, folder, count, dtype, where).astype(dtype).reshape(dims)
    if tensor.HasField("raw_data"):
        stored = len(tensor.raw_data) // dtype.itemsize
        exact = len(tensor.raw_data) == count * dtype.itemsize
    else:
        field = {np.dtype(np.float32): "float_data", np.dtype(np.float64): "double_data",
                 np.dtype(np.int64): "int64_data"}.get(dtype, "int32_data")
        stored = len(getattr(tensor, field))
        exact = stored == count
    if not exact:
        raise ModelFileError(f"{where}: declared shape {list(dims)} needs {count:,} values, the "
                             f"file stores {stored:,}.")
    return np.array(onnx.numpy_helper.to_array(tensor))


def read_model(path, data=None):
    """``(onnx ModelProto, {initializer name: array}, opset)`` after every check of this module.

    ``data``: the file's bytes when they are already in memory (``path`` then only names it and
    gives the folder that external data must lie in)."""
    onnx = _onnx()
    path = Path(path)
    try:
        proto = onnx.load_model_from_string(path.read_bytes() if data is None else data)
    except OSError as err:
        raise ModelFileError(f"{path}: cannot read the file ({err}).") from err
    except Exception as err:  # protobuf's DecodeError and friends: not an ONNX file
        raise ModelFileError(f"{path}: not a readable ONNX file (truncated, or not ONNX at all: "
                             f"{type(err).__name__}).") from err
    graph = proto.graph
    if proto.ir_version < 3 or not graph.node or not graph.input or not graph.output:
        raise ModelFileError(f"{path}: not an ONNX model (no graph with inputs, nodes and "
                             f"outputs).")
    opset = {o.domain: o.version for o in proto.opset_import}
    version = opset.get("", opset.get("ai.onnx"))
    newest = onnx.defs.onnx_opset_version()
    if version is None or not MIN_OPSET <= version <= newest:
        raise ModelFileError(f"{path}: ONNX opset {version} is not supported (opsets "
                             f"{MIN_OPSET} to {newest} are).")
    if len(proto.functions):
        raise ModelFileError(f"{path}: the file defines functions "
                             f"({', '.join(f.name for f in proto.functions)}); function bodies "
                             f"are not supported.")
    for node in graph.node:
        if node.domain not in _DOMAINS:
            raise ModelFileError(f"node {node.name!r}: op {node.op_type!r} of custom domain "
                                 f"{node.domain!r} is not supported (only the standard ONNX "
                                 f"domain is).")
    folder = path.parent
    weights = {t.name: tensor_array(t, folder, f"initializer {t.name!r}")
               for t in graph.initializer}
    return proto, weights, version
