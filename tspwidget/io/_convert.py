"""A Keras model config (Keras 2, Keras 3 or TF.js's ``modelTopology``) to tspwidget layers.

Only data is read: class names are looked up in a fixed table, and anything else (Lambda layers,
custom classes, nested models) is refused with an explanation. Weights are matched to layers by
role name ("kernel", "bias", "gamma", ...), whatever the file's own naming.
"""

from __future__ import annotations

from contextlib import contextmanager

from ..core import layers as L
from ..core.model import Model

SUPPORTED = (
    "Activation", "Add", "AveragePooling2D", "BatchNormalization", "Concatenate", "Conv2D", "Dense",
    "DepthwiseConv2D", "Dropout", "Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
    "InputLayer", "MaxPooling2D", "ReLU", "Rescaling", "Reshape", "SeparableConv2D", "ZeroPadding2D",
)
# The roles of each class's weights, in the order Keras 3 stores them (``vars/0``, ``vars/1``, ...).
_ROLES = {
    "Conv2D": ("kernel", "bias"), "DepthwiseConv2D": ("kernel", "bias"), "Dense": ("kernel", "bias"),
    "SeparableConv2D": ("depthwise_kernel", "pointwise_kernel", "bias"),
    "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance"),
}


class ModelFileError(ValueError):
    """The file cannot be read as a model tspwidget supports (the message says why)."""


def weight_roles(class_name, config):
    """The roles of a Keras layer's stored weights, in storage order."""
    roles = list(_ROLES.get(class_name, ()))
    if class_name == "BatchNormalization":
        if not config.get("scale", True):
            roles.remove("gamma")
        if not config.get("center", True):
            roles.remove("beta")
    elif roles and not config.get("use_bias", True):
        roles.remove("bias")
    return roles


def role_of(weight_name):
    """``"conv_dw_1/depthwise_kernel:0"`` -> ``"depthwise_kernel"``."""
    return weight_name.rsplit("/", 1)[-1].split(":")[0]


def _layer_configs(spec):
    """(class_name, layer list, input names, output names) of a Keras model config."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ModelFileError("the model config is not a Keras model description.")
    with parsing("the model config"):
        return _read_layer_configs(spec)


def _read_layer_configs(spec):
    cls, cfg = spec["class_name"], spec.get("config", {})
    if cls not in ("Sequential", "Functional", "Model"):
        raise ModelFileError(f"the top-level object is a {cls!r}, not a Sequential or functional model.")
    layers = cfg["layers"] if isinstance(cfg, dict) else cfg
    for item in layers:
        if not isinstance(item, dict):
            raise ModelFileError(f"the model config lists a layer that is not a dict: {str(item)[:80]}.")
        if not isinstance(item.get("config", {}), dict):
            raise ModelFileError(f"layer {item.get('name')!r} ({item.get('class_name')}): its config "
                                 f"is a {type(item['config']).__name__}, not a dict.")
        _check_plain(item)  # Lambda and unknown or custom classes: refused before anything else
        if item.get("class_name") in ("Sequential", "Functional", "Model"):
            raise ModelFileError(
                f"layer {_name(item)!r} is a nested model; tspwidget reads flat models only.")
    if cls == "Sequential":
        first = layers[0] if layers else {}
        shape = first.get("config", {}).get("batch_input_shape")
        if first.get("class_name") != "InputLayer" and shape:
            # Keras 2 may keep a Sequential's input shape on its first layer: make it a layer.
            layers = [{"class_name": "InputLayer", "config": {
                "name": f"{_name(first)}_input", "batch_input_shape": shape}}, *layers]
        return cls, layers, None, None
    return cls, layers, _endpoint_names(cfg["input_layers"]), _endpoint_names(cfg["output_layers"])


def _endpoint_names(value):
    """``[["a", 0, 0], ...]``, or Keras 3's ``["a", 0, 0]`` for a single one, to names."""
    if value and isinstance(value[0], str):
        value = [value]
    return [v[0] for v in value]


def _name(item):
    return item.get("name") or item.get("config", {}).get("name")


def _inbound_names(item):
    """Names of the layers feeding a layer (Keras 2 and Keras 3 node formats)."""
    nodes = item.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise ModelFileError(f"layer {_name(item)!r} is used more than once (shared layers are "
                             f"not supported).")
    names = []

    def walk(obj):
        if isinstance(obj, dict):
            if "keras_history" in obj.get("config", {}):
                names.append(obj["config"]["keras_history"][0])
            else:
                for v in obj.values():
                    walk(v)
        elif isinstance(obj, list):
            if len(obj) >= 3 and isinstance(obj[0], str) and isinstance(obj[1], int):
                names.append(obj[0])  # Keras 2: [name, node_index, tensor_index, kwargs]
            else:
                for v in obj:
                    walk(v)

    if nodes:
        walk(nodes[0]["args"] if isinstance(nodes[0], dict) else nodes[0])
    return names


def _is_keras(text):
    return text == "keras" or text.startswith(("keras.", "keras>"))


def _check_plain(item):
    cls = item.get("class_name")
    name = _name(item)
    if cls == "Lambda":
        raise ModelFileError(
            f"layer {name!r} is a Lambda layer: it holds Python code, and tspwidget never runs "
            f"code from a file. Rebuild that step with supported layers.")
    if cls not in SUPPORTED:
        raise ModelFileError(
            f"layer {name!r} of class {cls!r} is not supported (custom or unknown classes are "
            f"never imported). Supported: {', '.join(SUPPORTED)}.")
    # Keras 3 writes module "keras.layers" for its own classes; a subclass saved under a built-in
    # name has its own module (or null) and a registered name: its maths are not Keras's.
    module, registered = item.get("module", "keras"), item.get("registered_name")
    if not (isinstance(module, str) and _is_keras(module)) or (
            registered not in (None, cls) and not (isinstance(registered, str) and _is_keras(registered))):
        raise ModelFileError(
            f"layer {name!r} is a custom class saved under Keras's class name {cls!r} (module "
            f"{module!r}, registered name {registered!r}): its code is never imported and its "
            f"maths may differ from Keras's {cls}, so it is refused. Only classes of Keras's own "
            f"modules (keras.*) are read.")


def _activation(value, legacy, where):
    if value is None or value == "linear":
        return "linear"
    if isinstance(value, dict):  # Keras 3 may serialise activations as objects
        value = value.get("config", {}).get("name") if value.get("module", "").startswith("keras") else None
    if not isinstance(value, str):
        raise ModelFileError(f"{where}: activation {value!r} is custom code, which is never imported.")
    if value == "hard_sigmoid" and legacy:
        return "hard_sigmoid_legacy"
    return value


def _input_shape(cfg, name):
    shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
    if not shape or len(shape) != 4 or None in shape[1:]:
        raise ModelFileError(f"input {name!r} has shape {shape}; tspwidget needs a fixed "
                             f"(batch, h, w, c) image input.")
    return tuple(shape[1:])


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def _conv_args(cfg):
    return dict(kernel_size=_pair(cfg["kernel_size"]), strides=_pair(cfg["strides"]),
                padding=cfg["padding"], dilation=_pair(cfg.get("dilation_rate", 1)))


def _layer_args(cls, cfg, name, act):
    """``[(tspwidget class, keyword arguments)]`` for one Keras layer: file data only."""
    if cls == "InputLayer":
        h, wd, c = _input_shape(cfg, name)
        return [({3: L.RGBInput, 1: L.GreyscaleInput}.get(c, L.Input3d), dict(shape=(h, wd, c)))]
    if cls == "Conv2D":
        return [(L.Conv2d, dict(filters=cfg["filters"], groups=cfg.get("groups", 1), activation=act,
                                use_bias=cfg.get("use_bias", True), **_conv_args(cfg)))]
    if cls in ("DepthwiseConv2D", "SeparableConv2D"):
        depth = dict(depth_multiplier=cfg.get("depth_multiplier", 1), **_conv_args(cfg))
        if cls == "DepthwiseConv2D":
            return [(L.DepthwiseConv2d, dict(activation=act, use_bias=cfg.get("use_bias", True),
                                             **depth))]
        # Shown as its two steps: the depthwise one (no bias) and a 1x1 pointwise Conv2d.
        return [(L.DepthwiseConv2d, dict(use_bias=False, name=f"{name}/depthwise", **depth)),
                (L.Conv2d, dict(filters=cfg["filters"], kernel_size=1, activation=act,
                                use_bias=cfg.get("use_bias", True)))]
    if cls == "BatchNormalization":
        axis = cfg.get("axis", -1)
        if axis not in (-1, 3, [3], [-1]):
            raise ModelFileError(f"layer {name!r} ({cls}) normalises axis {axis}; only the channel "
                                 f"axis is supported.")
        return [(L.BatchNorm, dict(epsilon=cfg.get("epsilon", 1e-3), scale=cfg.get("scale", True),
                                   center=cfg.get("center", True)))]
    if cls == "ReLU":
        return [(L.Activation, dict(activation="relu", max_value=cfg.get("max_value"),
                                    negative_slope=cfg.get("negative_slope", 0.0),
                                    threshold=cfg.get("threshold", 0.0)))]
    if cls == "Activation":
        return [(L.Activation, dict(activation=act))]
    if cls == "ZeroPadding2D":
        pad = cfg["padding"]
        pad = tuple(_pair(p) for p in pad) if isinstance(pad, (list, tuple)) else pad
        return [(L.Padding2d, dict(padding=pad))]
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        return [(L.Pooling2d, dict(pool_size=_pair(cfg["pool_size"]),
                                   strides=_pair(cfg.get("strides") or cfg["pool_size"]),
                                   padding=cfg["padding"], mode="max" if cls.startswith("Max") else "avg"))]
    if cls in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        return [(L.GlobalPooling2d, dict(mode="avg" if "Average" in cls else "max",
                                         keepdims=bool(cfg.get("keepdims", False))))]
    if cls == "Dense":
        return [(L.Dense, dict(units=cfg["units"], activation=act, use_bias=cfg.get("use_bias", True)))]
    if cls == "Flatten":
        return [(L.Flatten, {})]
    if cls == "Reshape":
        return [(L.Reshape, dict(target_shape=tuple(cfg["target_shape"])))]
    if cls == "Dropout":
        return [(L.Dropout, dict(rate=cfg.get("rate", 0.5)))]
    if cls == "Add":
        return [(L.Add, {})]
    if cls == "Concatenate":
        return [(L.Concatenate, dict(axis=cfg.get("axis", -1)))]
    if cls == "Rescaling":
        scale, offset = cfg.get("scale", 1.0), cfg.get("offset", 0.0)
        if not all(isinstance(v, (int, float)) for v in (scale, offset)):
            raise ModelFileError(f"layer {name!r} ({cls}): only scalar scale and offset are supported.")
        return [(L.Rescaling, dict(scale=scale, offset=offset))]
    raise ModelFileError(f"layer {name!r} of class {cls!r} is not supported.")  # pragma: no cover


def _make(cls, cfg, name, legacy):
    """tspwidget layer(s), without weights, for one Keras layer: one (two for SeparableConv2D)."""
    where = f"layer {name!r} ({cls})"
    if not isinstance(cfg, dict):
        raise ModelFileError(f"{where}: its config is a {type(cfg).__name__}, not a dict.")
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise ModelFileError(f"{where} uses data_format={cfg['data_format']!r}; only channels_last.")
    with parsing(where):
        steps = _layer_args(cls, cfg, name, _activation(cfg.get("activation"), legacy, where))
    try:  # our layers check every value and say what is allowed
        return [kind(**{"name": name, **kwargs}) for kind, kwargs in steps]
    except (ValueError, TypeError) as err:
        raise ModelFileError(f"{where}: {err}") from err


@contextmanager
def parsing(where):
    """Turn the errors that reading a malformed description raises (a missing key, a value of
    the wrong type, a short list) into a ModelFileError naming ``where``. Only around code that
    reads file data, so that our own bugs elsewhere surface as themselves."""
    try:
        yield
    except ModelFileError:
        raise
    except (KeyError, TypeError, IndexError, ValueError) as err:
        raise ModelFileError(f"{where}: the description is malformed "
                             f"({type(err).__name__}: {err}).") from err


def build_model(spec, *, legacy, progress=None, model_class=Model):
    """A tspwidget model (a ``model_class``), built (shapes known) but without weights, from a
    Keras model ``spec``.

    Every layer is created, linked and checked before anything is returned: nothing is half-built.
    """
    cls, items, input_names, output_names = _layer_configs(spec)
    made, last = {}, {}  # Keras name -> our layers; -> the layer that carries its output
    previous = None
    try:
        for done, item in enumerate(items):
            if progress is not None:
                progress(done, len(items))
            name = _name(item)
            ours = _make(item["class_name"], item.get("config", {}), name, legacy)
            made[name], last[name] = ours, ours[-1]
            if len(ours) == 2:
                ours[1].apply(ours[0])
            if cls == "Sequential":
                if previous is not None and not ours[0].is_input:
                    ours[0].apply(previous)
                previous = ours[-1]
            else:
                with parsing(f"layer {name!r}"):
                    inbound = [last[n] for n in _inbound_names(item)]
                if inbound:
                    ours[0].apply(inbound if len(inbound) > 1 else inbound[0])
        if cls == "Sequential":
            first = made[_name(items[0])][0]
            if not first.is_input:
                raise ModelFileError("the Sequential model has no input shape (no InputLayer).")
            inputs, outputs = [first], [previous]
        else:
            with parsing("the model's inputs and outputs"):
                inputs = [made[n][0] for n in input_names]
                outputs = [last[n] for n in output_names]
        model = model_class(inputs=inputs, outputs=outputs, name=spec.get("config", {}).get("name"))
        model.build()  # shapes only: no weight is drawn
    except ModelFileError:
        raise
    except (ValueError, TypeError) as err:  # topology or shapes our layers and models refuse
        raise ModelFileError(str(err)) from err
    model.keras_layers = {name: [layer.name for layer in ours] for name, ours in made.items()}
    return model


def layer_items(spec):
    """``[(keras name, class name, config)]`` of a model spec, in config order.

    Refuses Lambda layers and unknown or custom classes first, before anything else is read.
    """
    return [(_name(item), item.get("class_name"), item.get("config", {}))
            for item in _layer_configs(spec)[1]]


def normalize_role(class_name, role):
    """Keras 2 calls a depthwise layer's kernel ``depthwise_kernel``; Keras 3 calls it ``kernel``."""
    return "kernel" if class_name == "DepthwiseConv2D" and role == "depthwise_kernel" else role


def _target(model, keras_name, role):
    """``(our layer, our role)`` that a Keras layer's stored weight ``role`` goes to."""
    names = model.keras_layers[keras_name]
    if len(names) == 2:  # SeparableConv2D: its depthwise and its pointwise step
        layer = model.get_layer(names[0] if role == "depthwise_kernel" else names[1])
        return layer, "kernel" if role.endswith("kernel") else role
    return model.get_layer(names[0]), role


def check_stored_shapes(model, spec, stored):
    """Check ``{keras layer: {role: shape}}`` read from a file's metadata against the built model.

    Runs before any weight is read: a missing, extra or mis-shaped weight is an error naming the
    layer. Returns nothing; raises :class:`ModelFileError`.
    """
    items = layer_items(spec)
    for name, cls, cfg in items:
        want = set(weight_roles(cls, cfg))
        have = set(stored.get(name, {}))
        if want != have:
            raise ModelFileError(
                f"layer {name!r} ({cls}): the file stores weights {sorted(have) or 'none'}, but "
                f"its configuration needs {sorted(want) or 'none'}.")
        for role, shape in stored.get(name, {}).items():
            layer, ours = _target(model, name, role)
            expected = layer.weight_shapes()[ours]
            if tuple(shape) != tuple(expected):
                raise ModelFileError(
                    f"layer {name!r} ({cls}): the stored {role} has shape {tuple(shape)}, but the "
                    f"model's configuration needs {tuple(expected)}.")
    extra = set(stored) - {name for name, _, _ in items}
    if extra:
        raise ModelFileError(f"the file stores weights for unknown layers {sorted(extra)}.")


def assign_weights(model, arrays):
    """Give each layer of a built ``model`` its arrays ``{keras layer: {role: array}}``."""
    per_layer = {}
    for keras_name, roles in arrays.items():
        for role, array in roles.items():
            layer, ours = _target(model, keras_name, role)
            per_layer.setdefault(layer.name, {})[ours] = array
    model.set_weights(per_layer)
