"""Readers for Keras 3 ``.keras`` zips, Keras 2/3 ``.h5`` files and the TF.js layers format.

Each returns a :class:`Stored`: the model config, whether the file follows Keras 2 / TF.js
definitions (``legacy``), the shapes of its weights (metadata only, so that they can be checked
before any array is read) and a way to read the arrays. Nothing is executed, unpickled or
extracted: zip members are read by name into memory; shard paths may not leave their folder.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ._convert import ModelFileError, layer_items, normalize_role, parsing, role_of, weight_roles

MAX_CONFIG_BYTES = 64 * 2**20  # a config larger than this is not a model description
MAX_WEIGHTS_BYTES = 2 * 2**30  # a .keras weights member is read into memory: refuse more than this


def weights_budget(model):
    """The most bytes a ``.keras`` weights member may hold for ``model`` (built, shapes known):
    every declared weight three times (the weight and an optimizer's two slots, as Adam keeps)
    at up to 8 bytes a value, plus 64 KiB of HDF5 structure per array and 1 MiB overall."""
    arrays = [shape for layer in model.layers for shape in layer.weight_shapes().values()]
    values = sum(int(np.prod(shape, dtype=np.int64)) for shape in arrays)
    return 3 * 8 * values + 64 * 2**10 * len(arrays) + 2**20


@dataclass
class Stored:
    spec: dict | None  # the Keras model config (None for a weights-only file)
    legacy: bool  # Keras 2 / TF.js definitions (hard_sigmoid)
    shapes: dict  # {keras layer: {role: shape}}
    read: Callable[[], dict]  # -> {keras layer: {role: float32 array}}
    classes: dict  # {keras layer: class name}, where the file says
    # Keras 3 weights-only files: roles are storage indexes ("0", "1", ...) and this maps each
    # layer (by the name the file records, else by its object path) to its object path.
    object_paths: dict | None = None


def _h5py():
    import h5py  # a runtime dependency, imported late so `import tspwidget` stays light

    return h5py


def _json(data, what):
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{what} is not valid JSON ({err}).") from err


def _float_dataset(ds, where):
    if not hasattr(ds, "dtype") or ds.dtype.kind != "f":
        raise ModelFileError(f"{where} holds {getattr(ds, 'dtype', 'no')} data; weights must be "
                             f"floating point (object or pickled data is never read).")
    return ds


def _snake(name):  # keras.src.utils.naming.to_snake_case
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


@contextmanager
def _h5(source, what):
    """An HDF5 file open for reading, always closed; unreadable files are a ModelFileError."""
    h5py = _h5py()
    try:
        f = h5py.File(source, "r")
    except (OSError, ValueError) as err:
        raise ModelFileError(f"{what} is not a readable HDF5 file (truncated or corrupt?): {err}.") from err
    with f:
        yield f


def _reader(open_source, what, datasets, shapes):
    """``read()`` for datasets ``{layer: {role: path}}``: opens the file, reads, closes it."""
    def read():
        out = {}
        with _h5(open_source(), what) as f:
            for name, roles in datasets.items():
                for role, path in roles.items():
                    where = f"layer {name!r} weight {role}"
                    try:
                        ds = _float_dataset(f[path], where)
                        if ds.shape != tuple(shapes[name][role]):  # changed since it was checked
                            raise ModelFileError(f"{where}: shape {ds.shape} changed while reading.")
                        out.setdefault(name, {})[role] = np.asarray(ds[()], np.float32)
                    except (OSError, ValueError, KeyError) as err:
                        if isinstance(err, ModelFileError):
                            raise
                        raise ModelFileError(f"{where} cannot be read (truncated or corrupt "
                                             f"file?): {err}.") from err
        return out
    return read


# --------------------------------------------------------------------------- Keras 3 .keras


def object_paths(spec):
    """``{layer name: "layers/<object path>"}``: how Keras 3 names stored weights.

    The path is snake_case(class name), numbered ``_1``, ``_2``... in config order, whatever the
    layer's own name (keras.src.saving.saving_lib).
    """
    paths, seen = {}, {}
    for name, cls, _ in layer_items(spec):
        key = _snake(cls)
        count = seen.get(key, 0)
        seen[key] = count + 1
        paths[name] = f"layers/{key}" + (f"_{count}" if count else "")
    return paths


def _member(archive, info, limit, path):
    """A zip member's bytes, never more than its declared size nor ``limit``."""
    if info.file_size > limit:
        raise ModelFileError(f"{path}: {info.filename} declares {info.file_size:,} bytes, more than "
                             f"the {limit:,} tspwidget reads for it.")
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)  # the zip checks the CRC when it reaches the end
    if len(data) != info.file_size:
        raise ModelFileError(f"{path}: {info.filename} holds {len(data)} bytes, not the "
                             f"{info.file_size} it declares (truncated or corrupt).")
    return data


def read_keras_zip(path, budget=None):
    """``budget(spec)``, if given, is the most bytes the weights member may declare for the model
    that ``spec`` describes (``weights_budget``): checked before a byte of it is read."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ModelFileError(f"{path} is not a readable .keras file (a zip archive): {err}.") from err
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        for needed in ("config.json", "model.weights.h5"):
            if needed not in members:
                raise ModelFileError(f"{path} has no {needed!r}: not a Keras 3 .keras file.")
        try:
            spec = _json(_member(archive, members["config.json"], MAX_CONFIG_BYTES, path),
                         f"{path}: config.json")
            limit = MAX_WEIGHTS_BYTES if budget is None else min(MAX_WEIGHTS_BYTES, budget(spec))
            weights_bytes = _member(archive, members["model.weights.h5"], limit, path)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as err:
            # NotImplementedError: a compression zipfile lacks; RuntimeError: an encrypted member
            raise ModelFileError(f"{path} is truncated or corrupt: {err}.") from err

    def source():
        return io.BytesIO(weights_bytes)

    what = f"{path}: model.weights.h5"
    paths = object_paths(spec)
    items = layer_items(spec)
    shapes, datasets = {}, {}
    with _h5(source(), what) as h5:
        for name, cls, cfg in items:
            roles = weight_roles(cls, cfg)
            group = h5.get(f"{paths[name]}/vars")
            stored = [] if group is None else sorted(group.keys(), key=_index(what))
            if len(stored) != len(roles):
                raise ModelFileError(f"layer {name!r} ({cls}): the file stores {len(stored)} weights "
                                     f"at {paths[name]}, its configuration needs {len(roles)}.")
            for role, key in zip(roles, stored):
                ds = _float_dataset(group[key], f"layer {name!r} weight {role}")
                shapes.setdefault(name, {})[role] = ds.shape
                datasets.setdefault(name, {})[role] = f"{paths[name]}/vars/{key}"
    classes = {name: cls for name, cls, _ in items}
    return Stored(spec, False, shapes, _reader(source, what, datasets, shapes), classes)


def _index(what):
    def key(text):
        if not text.isdigit():
            raise ModelFileError(f"{what}: weight {text!r} is not numbered as Keras 3 numbers them.")
        return int(text)
    return key


def _read_weights_only(h5, path):
    """A Keras 3 ``.weights.h5`` (``model.save_weights``): ``layers/<object path>/vars/<i>``.

    Keras 3.15 records each layer's name in its ``vars`` group's ``name`` attribute; where a
    file has none, the object path (``layers/conv2d_1``) is the key.
    """
    shapes, datasets, paths = {}, {}, {}
    layers = h5["layers"]
    for key in layers.keys():
        group = layers[key].get("vars") if hasattr(layers[key], "get") else None
        if group is None or not len(group):
            continue
        name = _attr_text(group.attrs.get("name", f"layers/{key}"))
        paths[name] = f"layers/{key}"
        for index in sorted(group.keys(), key=_index(str(path))):
            ds = _float_dataset(group[index], f"layer {name!r} weight {index}")
            shapes.setdefault(name, {})[index] = ds.shape
            datasets.setdefault(name, {})[index] = f"layers/{key}/vars/{index}"
    return shapes, datasets, paths


# --------------------------------------------------------------------------- .h5 (Keras 2 and 3)


def _attr_text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_h5(path):
    what = str(path)
    with _h5(path, what) as h5:
        try:
            version = _attr_text(h5.attrs.get("keras_version", "2"))
            spec = None
            if "model_config" in h5.attrs:
                spec = _json(_attr_text(h5.attrs["model_config"]), f"{path}: model_config")
            if spec is None and "layers" in h5 and "layer_names" not in h5.attrs:
                shapes, datasets, paths = _read_weights_only(h5, path)
                return Stored(None, False, shapes, _reader(lambda: path, what, datasets, shapes),
                              {}, object_paths=paths)
            prefix = "model_weights/" if "model_weights" in h5 else ""
            root = h5["model_weights"] if prefix else h5
            classes = {name: cls for name, cls, _ in layer_items(spec)} if spec else {}
            shapes, datasets = {}, {}
            for name in root.keys():
                group = root[name]
                if not hasattr(group, "attrs") or "weight_names" not in group.attrs:
                    continue
                for weight_name in group.attrs["weight_names"]:
                    weight_name = _attr_text(weight_name)
                    role = normalize_role(classes.get(name, ""), role_of(weight_name))
                    ds = _float_dataset(group[weight_name], f"layer {name!r} weight {role}")
                    shapes.setdefault(name, {})[role] = ds.shape
                    datasets.setdefault(name, {})[role] = f"{prefix}{name}/{weight_name}"
        except (OSError, KeyError) as err:  # h5py: a group or attribute the file lacks
            raise ModelFileError(f"{path} is not a readable Keras .h5 file: {err}.") from err
    return Stored(spec, not version.startswith("3"), shapes,
                  _reader(lambda: path, what, datasets, shapes), classes)


# --------------------------------------------------------------------------- TF.js layers format


def read_tfjs(path):
    path = Path(path)
    model_json = path / "model.json" if path.is_dir() else path
    folder = model_json.parent.resolve()
    try:
        if model_json.stat().st_size > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{model_json} is implausibly large for a model.json.")
        doc = _json(model_json.read_bytes(), str(model_json))
    except OSError as err:
        raise ModelFileError(f"cannot read {model_json}: {err}.") from err
    if not isinstance(doc, dict) or doc.get("format", "layers-model") != "layers-model":
        raise ModelFileError(f"{model_json} is not a TF.js layers model (format "
                             f"{doc.get('format') if isinstance(doc, dict) else None!r}).")
    topology = doc.get("modelTopology") or {}
    if not isinstance(topology, dict):
        raise ModelFileError(f"{model_json}: modelTopology is not an object.")
    version = str(topology.get("keras_version", "2"))
    spec = topology.get("model_config", topology) or None
    classes = {name: cls for name, cls, _ in layer_items(spec)} if spec else {}
    # Files converted from Keras 3 name weights by object path ("layers/conv2d/vars/0").
    by_path = {path: name for name, path in object_paths(spec).items()} if spec else {}
    configs = {name: (cls, cfg) for name, cls, cfg in layer_items(spec)} if spec else {}
    with parsing(f"{model_json}: weightsManifest"):
        shapes, plan = _tfjs_manifest(doc, model_json, folder, by_path, configs, classes)

    def read():
        out = {}
        for shard_paths, entries in plan:
            data = b"".join(p.read_bytes() for p in shard_paths)
            for layer, role, shape, offset in entries:
                count = int(np.prod(shape))
                out.setdefault(layer, {})[role] = np.frombuffer(
                    data, "<f4", count=count, offset=offset).reshape(shape).astype(np.float32)
        return out

    legacy = not version.startswith("3")
    return Stored(spec, legacy, shapes, read, classes)


def _tfjs_manifest(doc, model_json, folder, by_path, configs, classes):
    """``(shapes, [(shard paths, [(layer, role, shape, byte offset)])])`` from a manifest."""
    shapes, plan = {}, []
    for group in doc.get("weightsManifest", []):
        if not isinstance(group, dict) or not all(isinstance(w, dict) for w in group["weights"]):
            raise ModelFileError(f"{model_json}: a weightsManifest entry is not an object.")
        shard_paths = []
        for rel in group["paths"]:
            shard = (folder / rel).resolve()
            if Path(rel).is_absolute() or folder not in shard.parents:
                raise ModelFileError(f"{model_json}: shard path {rel!r} leaves the model's folder.")
            shard_paths.append(shard)
        try:
            available = sum(p.stat().st_size for p in shard_paths)
        except OSError as err:
            raise ModelFileError(f"{model_json}: a weight shard is missing: {err}.") from err
        offset = 0
        entries = []
        for weight in group["weights"]:
            if weight.get("dtype", "float32") != "float32" or "quantization" in weight:
                raise ModelFileError(f"weight {weight['name']!r} is {weight.get('dtype')} "
                                     f"(quantized?); only float32 weights are supported.")
            shape = tuple(int(v) for v in weight["shape"])
            size = int(np.prod(shape)) * 4
            layer, _, role = weight["name"].rpartition("/")
            if layer.endswith("/vars") and layer[: -len("/vars")] in by_path:
                layer = by_path[layer[: -len("/vars")]]
                roles = weight_roles(*configs[layer])
                if not role.isdigit() or int(role) >= len(roles):
                    raise ModelFileError(f"weight {weight['name']!r} does not fit layer {layer!r}.")
                role = roles[int(role)]
            role = normalize_role(classes.get(layer, ""), role_of(role))
            entries.append((layer, role, shape, offset))
            shapes.setdefault(layer, {})[role] = shape
            offset += size
        if offset != available:
            raise ModelFileError(f"{model_json}: the manifest declares {offset} bytes of weights, "
                                 f"but the shards hold {available} (truncated or mismatched).")
        plan.append((shard_paths, entries))
    return shapes, plan


def read(path, budget=None):
    """The right reader for ``path``: a .keras zip, an .h5 file, or a TF.js folder / model.json.
    ``budget``: see ``read_keras_zip`` (the other formats are read lazily, array by array)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if p.is_dir() or p.suffix == ".json":
        return read_tfjs(p)
    with open(p, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"PK"):
        return read_keras_zip(p, budget)
    if magic == b"\x89HDF\r\n\x1a\n":
        return read_h5(p)
    raise ModelFileError(f"{path} is neither a .keras zip, an HDF5 .h5 file nor a TF.js model.json.")
