"""Model files: Keras 3 ``.keras``, Keras 2/3 ``.h5`` and TF.js layers folders, read as data.

``load(path)`` returns a tspwidget model with the file's topology, names, weights and every
layer's real configuration; ``load_weights(model, path)`` fills a hand-built model by layer name.
No TensorFlow, Keras or torch is needed, and no code from a file is ever run.
"""

from __future__ import annotations

from ..core.layers.base import as_weights
from ._convert import (SUPPORTED, ModelFileError, build_model, check_stored_shapes, normalize_role,
                       weight_shapes)
from ._readers import read

__all__ = ["SUPPORTED", "ModelFileError", "load", "load_weights"]


def _malformed(path, err):
    return ModelFileError(f"{path}: the model description is malformed ({type(err).__name__}: {err}).")


def load(path, *, progress=None):
    """Read a model file into an initialised tspwidget model (see the module docstring).

    ``progress``, if given, is called as ``progress(done, total)`` while layers are built.
    """
    if str(path).lower().endswith(".onnx"):  # ONNX (PyTorch's export): a reader of its own
        from ._onnx import load_onnx

        return load_onnx(path, progress=progress)
    try:
        stored = read(path)
        if stored.spec is None:
            raise ModelFileError(f"{path} holds weights only (no model description): build the "
                                 f"model by hand and call model.load_weights({str(path)!r}).")
        check_stored_shapes(stored.spec, stored.shapes, legacy=stored.legacy)  # before reading
        model = build_model(stored.spec, stored.read(), legacy=stored.legacy, progress=progress)
    except ModelFileError:
        raise
    except (KeyError, TypeError, IndexError, AttributeError) as err:
        raise _malformed(path, err) from err
    except ValueError as err:  # a configuration value our layers refuse
        raise ModelFileError(f"{path}: {err}") from err
    return model.init()


def _file_roles(layer, roles):
    """A file's role names as this layer calls them (Keras 2's ``depthwise_kernel`` is ``kernel``)."""
    cls = "DepthwiseConv2D" if layer.layer_type == "DepthwiseConv2d" else ""
    return {normalize_role(cls, role): role for role in roles}


def _set_weight(layer, role, array):
    """Store a weight as the layer's own given value (used at the next ``init``)."""
    if layer.layer_type == "BatchNorm":
        layer._given[role] = as_weights(array, role, 1)
    else:
        setattr(layer, f"_given_{role}", as_weights(array, role))


def load_weights(model, path):
    """Fill ``model``'s weights from a file, matching layers by name (TensorSpace's rule).

    Every layer that has weights must find a layer of the same name in the file, with weights of
    the shapes the model needs; otherwise nothing is changed and the error names the layer.
    """
    stored = read(path)
    if not model.is_initialized:
        model.init(seed=0)
    plan = []  # (layer, {our role: the file's role})
    for layer in model.layers:
        expected = weight_shapes(layer)
        if not expected:
            continue
        if layer.name not in stored.shapes:
            raise ModelFileError(f"layer {layer.name!r} has no weights in {path} (layers there: "
                                 f"{sorted(stored.shapes)}); names must match.")
        found = stored.shapes[layer.name]
        roles = _file_roles(layer, found)
        for role, shape in expected.items():
            if role not in roles:
                raise ModelFileError(f"layer {layer.name!r}: {path} has no {role} for it "
                                     f"(it has {sorted(found)}).")
            if tuple(found[roles[role]]) != shape:
                raise ModelFileError(f"layer {layer.name!r}: the file's {role} has shape "
                                     f"{tuple(found[roles[role]])}, the model needs {shape}.")
        plan.append((layer, {role: roles[role] for role in expected}))
    arrays = stored.read()
    for layer, roles in plan:
        for role, file_role in roles.items():
            _set_weight(layer, role, arrays[layer.name][file_role])
    return model.init()
