"""Model files: Keras 3 ``.keras``, Keras 2/3 ``.h5`` and TF.js layers folders, read as data.

``load(path)`` returns a tspwidget model with the file's topology, names, weights and every
layer's real configuration; ``load_weights(model, path)`` fills a hand-built model by layer name.
No TensorFlow, Keras or torch is needed, and no code from a file is ever run.
"""

from __future__ import annotations

from ._convert import SUPPORTED, ModelFileError, build_model, check_stored_shapes
from ._readers import read

__all__ = ["SUPPORTED", "ModelFileError", "load", "load_weights"]


def _malformed(path, err):
    return ModelFileError(f"{path}: the model description is malformed ({type(err).__name__}: {err}).")


def load(path, *, progress=None):
    """Read a model file into an initialised tspwidget model (see the module docstring).

    ``progress``, if given, is called as ``progress(done, total)`` while layers are built.
    """
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


# Which attribute holds each weight role, per tspwidget layer type.
_TARGETS = {"kernel": "_given_kernel", "depthwise_kernel": "_given_kernel", "bias": "_given_bias"}


def load_weights(model, path):
    """Fill ``model``'s weights from a file, matching layers by name (TensorSpace's rule).

    Every layer that has weights must find a layer of the same name in the file, with weights of
    the shapes the model needs; otherwise nothing is changed and the error names the layer.
    """
    from ..core.layers.base import as_weights

    stored = read(path)
    if not model.is_initialized:
        model.init(seed=0)
    updates = []
    for layer in model.layers:
        expected = _weight_shapes(layer)
        if not expected:
            continue
        found = stored.shapes.get(layer.name)
        if found is None:
            raise ModelFileError(f"layer {layer.name!r} has no weights in {path} (layers there: "
                                 f"{sorted(stored.shapes)}); names must match.")
        for role, shape in expected.items():
            if role not in found:
                raise ModelFileError(f"layer {layer.name!r}: {path} has no {role} for it.")
            if tuple(found[role]) != shape:
                raise ModelFileError(f"layer {layer.name!r}: the file's {role} has shape "
                                     f"{tuple(found[role])}, the model needs {shape}.")
        updates.append(layer)
    arrays = stored.read()
    for layer in updates:
        for role, array in arrays[layer.name].items():
            if role in ("gamma", "beta", "moving_mean", "moving_variance"):
                layer._given[role] = as_weights(array, role, 1)
            elif role in _TARGETS and role in _weight_shapes(layer):
                setattr(layer, _TARGETS[role], as_weights(array, role))
    return model.init()


def _weight_shapes(layer):
    """``{role: shape}`` of the weights a built layer uses."""
    t = layer.layer_type
    if t in ("Conv2d", "DepthwiseConv2d"):
        shapes = {"kernel": tuple(layer._kernel_shape())}
        if layer.use_bias:
            shapes["bias"] = (layer.output_shape[-1],)
        return shapes
    if t == "Dense":
        shapes = {"kernel": (layer.input_shape[-1], layer.units)}
        if layer.use_bias:
            shapes["bias"] = (layer.units,)
        return shapes
    if t == "BatchNorm":
        return {r: (layer.output_shape[-1],) for r in ("gamma", "beta", "moving_mean", "moving_variance")}
    return {}
