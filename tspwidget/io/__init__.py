"""Model files: Keras 3 ``.keras``, Keras 2/3 ``.h5``, TF.js layers folders and ONNX, read as data.

``load(path)`` returns a tspwidget model with the file's topology, names, weights and every
layer's real configuration; ``load_weights(model, path)`` fills a hand-built model by layer name.
No TensorFlow, Keras or torch is needed, and no code from a file is ever run.
"""

from __future__ import annotations

import re

from ..core.model import Model
from ._convert import SUPPORTED, ModelFileError, assign_weights, build_model, check_stored_shapes, normalize_role
from ._readers import _snake, read, weights_budget

__all__ = ["SUPPORTED", "ModelFileError", "load", "load_weights"]


def load(path, *, progress=None, model_class=Model):
    """Read a model file into an initialised ``model_class`` (see the module docstring).

    ``progress``, if given, is called as ``progress(done, total)`` while layers are built.
    ``tspwidget.load`` asks for ``tspwidget.Model`` (a model that can be shown); the core's
    ``Model`` computes only, and io knows nothing above the core.
    """
    if str(path).lower().endswith(".onnx"):  # ONNX (PyTorch's export): a reader of its own
        from ._onnx import load_onnx

        return load_onnx(path, progress=progress, model_class=model_class)
    built = {}

    def budget(spec):  # a .keras zip: the weights member is capped by what the config declares
        built["model"] = _built(spec, False, progress, path, model_class)
        return weights_budget(built["model"])

    stored = read(path, budget)
    if stored.spec is None:
        raise ModelFileError(f"{path} holds weights only (no model description): build the "
                             f"model by hand (or load the file it was saved from) and call "
                             f"model.load_weights({str(path)!r}).")
    # Built once, shapes only; the stored shapes are checked before any array is read.
    model = built.get("model") or _built(stored.spec, stored.legacy, progress, path, model_class)
    try:
        check_stored_shapes(model, stored.spec, stored.shapes)
    except ModelFileError as err:
        raise ModelFileError(f"{path}: {err}") from err
    assign_weights(model, stored.read())
    return model.init()  # every weight is given: nothing is drawn


def _built(spec, legacy, progress, path, model_class):
    try:
        return build_model(spec, legacy=legacy, progress=progress, model_class=model_class)
    except ModelFileError as err:
        raise ModelFileError(f"{path}: {err}") from err


_HALF = "/depthwise"  # how _convert names a SeparableConv2D's depthwise step: "<name>/depthwise"


def _plan(model, stored, path):
    """``[(layer, file layer, {our role: the file's role})]`` for every layer with weights, with
    every shape checked (before any array is read)."""
    indexed = stored.object_paths is not None  # Keras 3 weights-only: roles are storage indexes
    paths = _object_paths(model) if indexed else {}
    plan = []
    for layer in model.layers:
        expected = layer.weight_shapes()
        if not expected:
            continue
        key = layer.name
        if key not in stored.shapes and key.endswith(_HALF):
            key = key[: -len(_HALF)]
        if key not in stored.shapes:
            key = paths.get(layer.name)
        if key not in stored.shapes:
            raise ModelFileError(f"layer {layer.name!r} has no weights in {path} (layers there: "
                                 f"{sorted(stored.shapes)}); names must match.")
        found = stored.shapes[key]
        kind = re.sub(r"_\d+$", "", stored.object_paths[key].rsplit("/", 1)[-1]) if indexed else None
        separable = kind == "separable_conv2d" if indexed else "pointwise_kernel" in found
        if key != layer.name and not (separable and layer.name.endswith(_HALF)) and not indexed:
            raise ModelFileError(f"layer {layer.name!r} has no weights in {path}.")
        if separable:  # one Keras layer, our two steps: depthwise kernel; pointwise kernel, bias
            names = ("0", "1", "2") if indexed else ("depthwise_kernel", "pointwise_kernel", "bias")
            roles = ({"kernel": names[0]} if layer.name.endswith(_HALF)
                     else {"kernel": names[1], "bias": names[2]})
        elif indexed:
            if kind != _snake(layer.keras_class):
                raise ModelFileError(f"layer {layer.name!r} ({layer.keras_class}): {path} stores "
                                     f"a {kind!r} layer under that name.")
            roles = {role: str(i) for i, role in enumerate(layer.weight_roles)}
            if set(found) != set(roles.values()):
                raise ModelFileError(f"layer {layer.name!r}: {path} stores {len(found)} weights for "
                                     f"it, the layer has {len(roles)} ({list(layer.weight_roles)}).")
        else:
            roles = {normalize_role(layer.keras_class, role): role for role in found}
        for role, shape in expected.items():
            if roles.get(role) not in found:
                raise ModelFileError(f"layer {layer.name!r}: {path} has no {role} for it "
                                     f"(it has {sorted(found)}).")
            if tuple(found[roles[role]]) != shape:
                raise ModelFileError(f"layer {layer.name!r}: the file's {role} has shape "
                                     f"{tuple(found[roles[role]])}, the model needs {shape}.")
        plan.append((layer, key, {role: roles[role] for role in expected}))
    return plan


def _object_paths(model):
    """Keras 3's object path of each layer with weights, counted per class in model order."""
    paths, seen = {}, {}
    for layer in model.layers:
        if layer.keras_class:
            key = _snake(layer.keras_class)
            count = seen.get(key, 0)
            seen[key] = count + 1
            paths[layer.name] = f"layers/{key}" + (f"_{count}" if count else "")
    return paths


def load_weights(model, path):
    """Fill ``model``'s weights from a file, matching layers by name (TensorSpace's rule).

    Every layer that has weights must find a layer of the same name in the file, with weights of
    the shapes the model needs; otherwise nothing is changed and the error names the layer.
    Keras 3 weights-only files (``model.save_weights("x.weights.h5")``) record layer names too;
    where one does not, layers are matched by Keras's object path (class and order).
    """
    if not model.is_initialized:
        model.build()  # shapes only: no weight is drawn
    stored = read(path, lambda spec: weights_budget(model))
    plan = _plan(model, stored, path)
    arrays = stored.read()
    model.set_weights({layer.name: {role: arrays[key][file_role] for role, file_role in roles.items()}
                       for layer, key, roles in plan})
    return model.init()  # every layer with weights now has them all: nothing is drawn
