"""Layer arguments: normalisation, defaults, TensorSpace spellings, Method 2 (`shape`), errors."""

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.layers import (
    Conv2d,
    DepthwiseConv2D,
    DepthwiseConv2d,
    GreyscaleInput,
    Input3d,
    NotInitializedError,
    Pooling2d,
    RGBInput,
)

from . import reference


def build(layer, input_shape=(12, 12, 3)):
    model = tsp.Sequential([Input3d(shape=input_shape), layer])
    model.init(seed=0)
    return layer


def test_every_argument_readable_and_normalised():
    dw = DepthwiseConv2d(kernel_size=3, strides=(1, 2), padding="SAME", depth_multiplier=2,
                         dilation=2, name="dw", color="orange", close_button={"ratio": 2},
                         init_status="open", anime_time=4000, activation="relu6", use_bias=False)
    assert dw.kernel_size == (3, 3) and dw.strides == (1, 2) and dw.dilation == (2, 2)
    assert dw.padding == "same" and dw.depth_multiplier == 2
    assert dw.name == "dw" and dw.color == "#FFA500" and dw.layer_type == "DepthwiseConv2d"
    assert dw.close_button == {"display": True, "ratio": 2}
    assert dw.init_status == "open" and dw.status == "open"
    assert dw.anime_time == 4000 and dw.activation == "relu6" and dw.use_bias is False
    assert dw.shape is None and dw.kernel is None and dw.bias is None


def test_defaults():
    dw = DepthwiseConv2d(3)
    assert dw.strides == (1, 1) and dw.padding == "valid" and dw.depth_multiplier == 1
    assert dw.dilation == (1, 1) and dw.color == "#FBBF1F" and dw.status == "close"
    assert dw.close_button == {"display": True, "ratio": 1} and dw.anime_time == 2000
    assert dw.use_bias is True and dw.activation == "linear"
    assert dw.neural_value is None


def test_generated_names_are_unique_and_readable():
    a, b = DepthwiseConv2d(3), DepthwiseConv2d(3)
    assert a.name.startswith("depthwise_conv2d_") and a.name != b.name
    assert Conv2d(2, 1).name.startswith("conv2d_")


@pytest.mark.parametrize(
    "camel,snake",
    [("kernelSize", "kernel_size"), ("depthMultiplier", "depth_multiplier"),
     ("closeButton", "close_button"), ("initStatus", "init_status"), ("animeTime", "anime_time")],
)
def test_tensorspace_camel_case_names_point_to_python_names(camel, snake):
    with pytest.raises(TypeError, match=f"'{camel}'.*{snake}="):
        DepthwiseConv2d(**{"kernel_size": 3, camel: 1} if camel != "kernelSize" else {camel: 3})


def test_unknown_argument_lists_allowed():
    with pytest.raises(TypeError, match="unexpected keyword argument 'kernel_sizes'.*kernel_size"):
        DepthwiseConv2d(kernel_sizes=3)


@pytest.mark.parametrize(
    "kwargs,err,match",
    [
        (dict(kernel_size=0), ValueError, "`kernel_size` must be an integer >= 1, got 0"),
        (dict(kernel_size=-3), ValueError, "`kernel_size`.*-3"),
        (dict(kernel_size=2.0), TypeError, "`kernel_size`.*2.0"),
        (dict(kernel_size=True), TypeError, "`kernel_size`.*True"),
        (dict(kernel_size=(3,)), ValueError, "`kernel_size`.*1 items"),
        (dict(kernel_size="3"), TypeError, "`kernel_size`.*'3'"),
        (dict(kernel_size=3, strides=(0, 1)), ValueError, "`strides`.*got 0"),
        (dict(kernel_size=3, padding="full"), ValueError, "`padding`.*'full'"),
        (dict(kernel_size=3, depth_multiplier=0), ValueError, "`depth_multiplier`.*got 0"),
        (dict(kernel_size=3, depth_multiplier=1.5), TypeError, "`depth_multiplier`.*1.5"),
        (dict(kernel_size=3, dilation=(1, 0)), ValueError, "`dilation`"),
        (dict(kernel_size=3, color="#12345"), ValueError, "`color`.*'#12345'"),
        (dict(kernel_size=3, color="notacolour"), ValueError, "`color`.*'notacolour'"),
        (dict(kernel_size=3, color=[1, 2, 3]), TypeError, "`color`"),
        (dict(kernel_size=3, close_button={"size": 2}), ValueError, "`close_button`.*'size'"),
        (dict(kernel_size=3, close_button={"ratio": 0}), ValueError, r"close_button\['ratio'\].*0"),
        (dict(kernel_size=3, close_button={"display": "no"}), TypeError, r"close_button\['display'\]"),
        (dict(kernel_size=3, close_button=True), TypeError, "`close_button` must be a dict"),
        (dict(kernel_size=3, init_status="closed"), ValueError, "`init_status`.*'open', 'close'.*'closed'"),
        (dict(kernel_size=3, anime_time=0), ValueError, "`anime_time`.*0"),
        (dict(kernel_size=3, anime_time="2s"), TypeError, "`anime_time`"),
        (dict(kernel_size=3, name=""), ValueError, "`name`"),
        (dict(kernel_size=3, name=3), TypeError, "`name`"),
        (dict(kernel_size=3, activation="gelu"), ValueError, "`activation`.*'gelu'"),
        (dict(kernel_size=3, use_bias=1), TypeError, "`use_bias`"),
        (dict(kernel_size=3, shape=(4, 4, 3)), ValueError, "either `kernel_size`.*or `shape`"),
        (dict(shape=(4, 4, 3), padding="same"), ValueError, "padding='valid'"),
        (dict(shape=(4, 4)), ValueError, "`shape`.*3 positive integers"),
        (dict(), TypeError, "needs `kernel_size`"),
        (dict(kernel=np.zeros((3, 3, 1))), ValueError, r"`kernel`.*\(kh, kw, C, M\)"),
        (dict(kernel_size=5, kernel=np.zeros((3, 3, 1, 1))), ValueError, "contradicts `kernel`"),
        (dict(kernel=np.zeros((3, 3, 1, 2)), depth_multiplier=3), ValueError, "contradicts `kernel`"),
        (dict(kernel_size=3, use_bias=False, bias=np.zeros(3)), ValueError, "use_bias=False"),
    ],
)
def test_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        DepthwiseConv2d(**kwargs)


def test_shape_method_derives_kernel_and_multiplier():
    dw = build(DepthwiseConv2d(shape=(10, 5, 6), strides=(1, 2)), (12, 12, 3))
    assert dw.kernel_size == (3, 4) and dw.depth_multiplier == 2
    assert dw.output_shape == (10, 5, 6)
    assert dw.kernel.shape == (3, 4, 3, 2)


@pytest.mark.parametrize(
    "shape,match",
    [((14, 12, 3), "14 rows from an input of 12 rows"),
     ((10, 10, 4), "not a multiple of the input's 3"),
     ((12, 12, 3), None)],  # 1x1 kernel: the identity size is possible
)
def test_shape_method_impossible_shapes(shape, match):
    layer = DepthwiseConv2d(shape=shape)
    if match is None:
        assert build(layer).kernel_size == (1, 1)
        return
    with pytest.raises(ValueError, match=match):
        build(layer)


def test_shape_method_contradicting_multiplier():
    with pytest.raises(ValueError, match="`depth_multiplier` 3 contradicts `shape`"):
        build(DepthwiseConv2d(shape=(10, 10, 6), depth_multiplier=3))


def test_shapes_before_init_say_to_call_init():
    dw = DepthwiseConv2d(3)
    for prop in ("input_shape", "output_shape"):
        with pytest.raises(NotInitializedError, match=r"model.init\(\)"):
            getattr(dw, prop)
    assert isinstance(NotInitializedError("x"), ValueError)


def test_given_weights_are_checked_used_and_not_mutated():
    kernel = np.arange(3 * 3 * 3 * 2, dtype=np.float64).reshape(3, 3, 3, 2)
    bias = np.ones(6)
    before = kernel.copy()
    dw = build(DepthwiseConv2d(kernel=kernel, bias=bias))
    assert dw.kernel_size == (3, 3) and dw.depth_multiplier == 2
    np.testing.assert_array_equal(dw.kernel, kernel)
    assert dw.kernel.dtype == np.float32 and not dw.kernel.flags.writeable
    kernel[0, 0, 0, 0] = 99
    np.testing.assert_array_equal(kernel[1:], before[1:])
    assert dw.kernel[0, 0, 0, 0] == 0  # the layer kept its own copy


def test_given_kernel_for_wrong_channel_count():
    with pytest.raises(ValueError, match=r"`kernel` has shape \(3, 3, 2, 1\).*\(3, 3, 3, 1\)"):
        build(DepthwiseConv2d(kernel=np.zeros((3, 3, 2, 1))))


def test_given_bias_with_wrong_length():
    with pytest.raises(ValueError, match=r"`bias` has shape \(4,\).*\(6,\)"):
        build(DepthwiseConv2d(3, depth_multiplier=2, bias=np.zeros(4)))


def test_kernel_larger_than_input_names_kernel_size():
    with pytest.raises(ValueError, match="kernel_size 5.*input's 4"):
        build(DepthwiseConv2d(5), (4, 8, 3))


def test_he_normal_weights_reproducible_and_scaled():
    a = build(DepthwiseConv2d(3, depth_multiplier=8), (8, 8, 64))
    b = build(DepthwiseConv2d(3, depth_multiplier=8), (8, 8, 64))
    np.testing.assert_array_equal(a.kernel, b.kernel)  # both seed 0
    std = np.sqrt(2 / 9)  # fan-in of a depthwise filter is its window
    assert abs(a.kernel.std() - std) < 0.05 * std
    assert np.abs(a.kernel).max() <= 2 * std / 0.87962566103423978 + 1e-6  # truncated
    np.testing.assert_array_equal(a.bias, 0)


def test_open_close_are_idempotent_and_notify():
    dw = DepthwiseConv2d(3)
    seen = []
    dw.add_observer(lambda layer, attr, old, new: seen.append((attr, old, new)))
    dw.open_layer()
    dw.open_layer()
    dw.close_layer()
    dw.close_layer()
    assert seen == [("status", "close", "open"), ("status", "open", "close")]


def test_observers_hear_colour_and_close_button_changes_and_bound_methods_are_weak():
    dw = DepthwiseConv2d(3)

    class View:
        def __init__(self):
            self.seen = []

        def on_change(self, layer, attr, old, new):
            self.seen.append((attr, new))

    view = View()
    dw.add_observer(view.on_change)
    dw.color = "red"
    dw.close_button = {"display": False}
    assert view.seen == [("color", "#FF0000"), ("close_button", {"display": False, "ratio": 1})]
    del view
    dw.color = "blue"  # the dead view is dropped, not called
    assert len(dw._observers) == 0


def test_close_button_property_is_a_copy():
    dw = DepthwiseConv2d(3)
    dw.close_button["ratio"] = 9
    assert dw.close_button["ratio"] == 1


def test_inputs():
    assert GreyscaleInput(shape=(28, 28)).shape == (28, 28, 1)
    assert RGBInput(shape=(8, 9, 3)).output_shape == (8, 9, 3)
    assert Input3d(shape=(4, 4, 7)).layer_type == "Input3d"
    with pytest.raises(ValueError, match=r"RGBInput must be \(h, w\) or \(h, w, 3\)"):
        RGBInput(shape=(8, 8, 1))
    with pytest.raises(ValueError, match="`shape`.*3 positive integers"):
        Input3d(shape=(8, 8))
    with pytest.raises(ValueError, match="`shape` must be an integer >= 1, got 0"):
        GreyscaleInput(shape=(0, 8))
    with pytest.raises(ValueError, match="takes no inputs"):
        RGBInput(shape=(4, 4)).apply(RGBInput(shape=(4, 4)))


def test_conv2d_and_pooling():
    conv = build(Conv2d(filters=5, kernel_size=(3, 1), strides=2, padding="same", activation="relu"))
    assert conv.output_shape == (6, 6, 5) and conv.kernel.shape == (3, 1, 3, 5)
    assert conv.param_count == 3 * 1 * 3 * 5 + 5
    pool = build(Pooling2d(3, strides=2, padding="same", mode="avg"))
    assert pool.output_shape == (6, 6, 3) and pool.strides == (2, 2)
    assert Pooling2d().strides == (2, 2)
    with pytest.raises(ValueError, match="`mode`.*'mean'"):
        Pooling2d(mode="mean")
    with pytest.raises(TypeError, match="needs `filters`"):
        Conv2d(kernel_size=3)
    with pytest.raises(TypeError, match="camelCase argument 'poolSize'"):
        Pooling2d(poolSize=2)


# ---------------------------------------------------------------- weights and configuration


def _built(*layers, shape=(6, 5, 3)):
    return tsp.Sequential([Input3d(shape=shape, name="in"), *layers]).build()


def test_weight_shapes_and_get_set_weights():
    dw = DepthwiseConv2d(3, depth_multiplier=2, name="dw")
    conv = Conv2d(4, 1, use_bias=False, name="pw")
    model = _built(dw, conv)
    assert not model.is_initialized and dw.kernel is None  # build() draws nothing
    assert dw.weight_shapes() == {"kernel": (3, 3, 3, 2), "bias": (6,)}
    assert conv.weight_shapes() == {"kernel": (1, 1, 6, 4)} and conv.weight_roles == ("kernel",)
    kernel = np.arange(54, dtype=np.float64).reshape(3, 3, 3, 2)
    before = kernel.copy()
    assert dw.set_weights({"kernel": kernel}) is dw
    kernel[0, 0, 0, 0] = 99.0  # the layer keeps its own copy
    model.init(seed=0)
    np.testing.assert_array_equal(dw.get_weights()["kernel"], before)
    assert dw.get_weights()["kernel"].dtype == np.float32 and not dw.kernel.flags.writeable
    np.testing.assert_array_equal(dw.get_weights()["bias"], 0)
    # After init, new weights go straight into use (and stay for the next init).
    dw.set_weights({"bias": np.ones(6)})
    x = np.random.default_rng(1).standard_normal((6, 5, 3))
    expected = reference.depthwise(x, before, np.ones(6)) @ np.asarray(conv.kernel[0, 0], np.float64)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-4)
    assert model.get_weights().keys() == {"dw", "pw"} and model.get_weights()["dw"].keys() == {
        "kernel", "bias"}


def test_set_weights_checks_everything_first():
    dw = DepthwiseConv2d(3, name="dw")
    _built(dw).init(seed=0)
    kernel = dw.kernel
    with pytest.raises(ValueError, match=r"layer 'dw': `kernel` has shape \(2, 2, 3, 1\), but this "
                                         r"layer needs \(3, 3, 3, 1\)"):
        dw.set_weights({"bias": np.ones(3), "kernel": np.ones((2, 2, 3, 1))})
    with pytest.raises(ValueError, match=r"has no weight\(s\) \['gamma'\]; its weights are "
                                         r"\['kernel', 'bias'\]"):
        dw.set_weights({"gamma": np.ones(3)})
    with pytest.raises(TypeError, match="takes a dict"):
        dw.set_weights([np.ones((3, 3, 3, 1))])
    assert dw.kernel is kernel and not dw.bias.any()  # nothing changed
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        dw._model.set_weights({"dw": {"bias": np.ones(3)}, "nope": {}})
    with pytest.raises(ValueError, match="layer 'in'.* has no weight"):
        dw._model.set_weights({"dw": {"bias": np.ones(3)}, "in": {"kernel": np.ones(1)}})
    assert not dw.bias.any()


def _every_layer():
    return [RGBInput(shape=(12, 10), name="in", color="#123456"),
            tsp.layers.Padding2d(((1, 0), (0, 1)), anime_time=500),
            DepthwiseConv2D(3, depth_multiplier=2, strides=(1, 2), padding="same", dilation=1,
                            activation="relu6", use_bias=False, init_status="open"),
            DepthwiseConv2d(shape=(11, 4, 6), close_button={"display": False, "ratio": 2}),
            Conv2d(8, 3, groups=2, padding="same", activation="relu"),
            tsp.layers.BatchNorm(epsilon=1e-2, scale=False),
            tsp.layers.Activation("relu", max_value=6.0, negative_slope=0.1, threshold=0.1),
            tsp.layers.Rescaling(0.5, -1.0), Pooling2d(2, strides=1, padding="valid", mode="avg"),
            tsp.layers.Dropout(0.25), tsp.layers.Reshape((-1, 8)), tsp.layers.Flatten(),
            tsp.layers.Dense(5, activation="softmax")]


def test_every_layer_round_trips_through_its_config():
    import json

    layers = _every_layer()
    model = tsp.Sequential(layers).init(seed=2)
    config = json.loads(json.dumps(model.get_config()))  # plain data
    twin = tsp.Sequential.from_config(config)
    assert json.loads(json.dumps(twin.get_config())) == config
    for a, b in zip(model.layers, twin.layers):
        assert type(a) is type(b) and a.get_config() == b.get_config()
        assert (a.color, a.anime_time, a.init_status, a.close_button) == (
            b.color, b.anime_time, b.init_status, b.close_button)
    twin.init().set_weights(model.get_weights())
    x = np.random.default_rng(3).random((12, 10, 3))
    np.testing.assert_array_equal(twin.predict(x), model.predict(x))
    assert layers[3].get_config()["kernel_size"] is None  # Method 2 stays Method 2


def test_functional_model_round_trips():
    inp = Input3d(shape=(6, 6, 2), name="x")
    a = DepthwiseConv2d(3, padding="same", name="a").apply(inp)
    b = Conv2d(2, 1, name="b").apply(inp)
    out = tsp.layers.Add(name="sum").apply([a, b])
    model = tsp.Model(inp, out, name="branches").init(seed=0)
    twin = tsp.Model.from_config(model.get_config()).init()
    assert [p.name for p in twin.get_layer("sum").inbound_layers] == ["a", "b"]
    twin.set_weights(model.get_weights())
    x = np.random.default_rng(0).random((6, 6, 2))
    np.testing.assert_array_equal(twin.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="unknown layer class 'Lambda'"):
        tsp.Model.from_config({**model.get_config(), "layers": [{"class_name": "Lambda", "config": {}}]})


def test_capabilities():
    dw = DepthwiseConv2D(3, depth_multiplier=3, name="dw")
    dense = tsp.layers.Dense(2, name="d")
    _built(dw, tsp.layers.Flatten(), dense)
    assert DepthwiseConv2D is DepthwiseConv2d
    assert dw.is_spatial and not dense.is_spatial
    assert dw.channel_group == 3 and dense.channel_group == 1
    assert (dw.keras_class, dense.keras_class) == ("DepthwiseConv2D", "Dense")
    assert dw.source_channel(7) == 2 and not hasattr(dense, "source_channel")
    assert dense.weight_roles == ("kernel", "bias") and Input3d((2, 2, 1)).weight_roles == ()
    assert RGBInput((2, 2)).is_rgb and not Input3d((2, 2, 3)).is_rgb and not dense.is_rgb
    act = tsp.layers.Activation
    assert dw.fold_host and dense.fold_host and not Pooling2d().fold_host
    assert [layer.fold_label for layer in (tsp.layers.BatchNorm(), act("relu", max_value=6),
                                           act("relu6"), act("relu"), act("tanh"), Pooling2d())] == [
        "BN", "ReLU6", "ReLU6", "ReLU", "tanh", None]
