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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ._convert import ModelFileError, layer_items, normalize_role, role_of, weight_roles

MAX_CONFIG_BYTES = 64 * 2**20  # a config larger than this is not a model description


@dataclass
class Stored:
    spec: dict | None  # the Keras model config (None for a weights-only file)
    legacy: bool  # Keras 2 / TF.js definitions (hard_sigmoid)
    shapes: dict  # {keras layer: {role: shape}}
    read: Callable[[], dict]  # -> {keras layer: {role: float32 array}}
    classes: dict  # {keras layer: class name}, where the file says


def _h5py():
    import h5py  # a runtime dependency, imported late so `import tspwidget` stays light

    return h5py


def _json(data, what):
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{what} is not valid JSON ({err}).") from err


def _float_dataset(ds, where):
    if ds.dtype.kind != "f":
        raise ModelFileError(f"{where} holds {ds.dtype} data; weights must be floating point "
                             f"(object or pickled data is never read).")
    return ds


def _snake(name):  # keras.src.utils.naming.to_snake_case
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


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


def read_keras_zip(path):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ModelFileError(f"{path} is not a readable .keras file (a zip archive): {err}.") from err
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        for needed in ("config.json", "model.weights.h5"):
            if needed not in members:
                raise ModelFileError(f"{path} has no {needed!r}: not a Keras 3 .keras file.")
        if members["config.json"].file_size > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{path}: config.json is implausibly large.")
        try:
            spec = _json(archive.read("config.json"), f"{path}: config.json")
            weights_bytes = archive.read("model.weights.h5")
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise ModelFileError(f"{path} is truncated or corrupt: {err}.") from err
    h5 = _open_h5(io.BytesIO(weights_bytes), f"{path}: model.weights.h5")

    paths = object_paths(spec)
    classes = {name: cls for name, cls, _ in layer_items(spec)}
    items = layer_items(spec)
    shapes, datasets = {}, {}
    for name, cls, cfg in items:
        roles = weight_roles(cls, cfg)
        group = h5.get(f"{paths[name]}/vars")
        stored = [] if group is None else sorted(group.keys(), key=int)
        if len(stored) != len(roles):
            raise ModelFileError(f"layer {name!r} ({cls}): the file stores {len(stored)} weights "
                                 f"at {paths[name]}, its configuration needs {len(roles)}.")
        for role, key in zip(roles, stored):
            ds = _float_dataset(group[key], f"layer {name!r} weight {role}")
            shapes.setdefault(name, {})[role] = ds.shape
            datasets.setdefault(name, {})[role] = ds
    return Stored(spec, False, shapes, lambda: _read_all(datasets), classes)


def _open_h5(source, what):
    h5py = _h5py()
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as err:
        raise ModelFileError(f"{what} is not a readable HDF5 file (truncated or corrupt?): {err}.") from err


def _read_all(datasets):
    out = {}
    for name, roles in datasets.items():
        for role, ds in roles.items():
            try:
                out.setdefault(name, {})[role] = np.asarray(ds[()], np.float32)
            except (OSError, ValueError, KeyError) as err:
                raise ModelFileError(f"layer {name!r}: weight {role} cannot be read "
                                     f"(truncated or corrupt file?): {err}.") from err
    return out


# --------------------------------------------------------------------------- .h5 (Keras 2 and 3)


def _attr_text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_h5(path):
    h5 = _open_h5(path, str(path))
    try:
        version = _attr_text(h5.attrs.get("keras_version", "2"))
        spec = None
        if "model_config" in h5.attrs:
            spec = _json(_attr_text(h5.attrs["model_config"]), f"{path}: model_config")
        root = h5["model_weights"] if "model_weights" in h5 else h5
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
                datasets.setdefault(name, {})[role] = ds
    except (OSError, KeyError) as err:
        raise ModelFileError(f"{path} is not a readable Keras .h5 file: {err}.") from err
    return Stored(spec, not version.startswith("3"), shapes, lambda: _read_all(datasets), classes)


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
    version = str(topology.get("keras_version", "2"))
    spec = topology.get("model_config", topology) or None
    classes = {name: cls for name, cls, _ in layer_items(spec)} if spec else {}
    # Files converted from Keras 3 name weights by object path ("layers/conv2d/vars/0").
    by_path = {path: name for name, path in object_paths(spec).items()} if spec else {}
    configs = {name: (cls, cfg) for name, cls, cfg in layer_items(spec)} if spec else {}
    shapes, plan = {}, []
    for group in doc.get("weightsManifest", []):
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


def read(path):
    """The right reader for ``path``: a .keras zip, an .h5 file, or a TF.js folder / model.json."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if p.is_dir() or p.suffix == ".json":
        return read_tfjs(p)
    with open(p, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"PK"):
        return read_keras_zip(p)
    if magic == b"\x89HDF\r\n\x1a\n":
        return read_h5(p)
    raise ModelFileError(f"{path} is neither a .keras zip, an HDF5 .h5 file nor a TF.js model.json.")
