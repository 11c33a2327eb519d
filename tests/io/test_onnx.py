"""ONNX files exported from PyTorch (tests/fixtures/make_onnx_models.py): every layer matches the
torch module of the same name, read with numpy only (no torch here)."""

from pathlib import Path

import numpy as np
import pytest

import tspwidget as tsp

FIXTURES = Path(__file__).parent.parent / "fixtures" / "onnx"
MODELS = ["lenet", "mobilenet_v2", "resnet18", "mobilenet_v3_small", "mobilenet_v3_large",
          "shufflenet_v2_x0_5", "squeezenet1_1", "mnasnet0_5", "efficientnet_b0",
          "convnext", "unet",  # LayerNorm on permuted maps; ConvTranspose, Resize, a map out
          "resnet18_dynamo", "shufflenet_v2_x0_5_dynamo"]  # torch's dynamo exporter
WEIGHTED = ("Conv2d", "DepthwiseConv2d", "BatchNorm", "Dense", "Conv2dTranspose", "LayerNorm")


def close(ours, torch_value):
    """The issue's bar: rtol 1e-4 and atol 1e-4 x max(1, max |torch|)."""
    atol = 1e-4 * max(1.0, float(np.abs(torch_value).max()))
    return ours.shape == torch_value.shape and np.allclose(ours, torch_value, rtol=1e-4, atol=atol)


def as_ours(layer, torch_value):
    """A torch module output in our layout: (C, H, W) -> (H, W, C) (a module on a permuted,
    channel-last map gives (H, W, C) already); a flatten of a (C, H, W) map in our order."""
    if torch_value.ndim == 3:
        moved = torch_value.transpose(1, 2, 0)
        return torch_value if moved.shape != layer.output_shape else moved
    if layer.layer_type == "Flatten" and len(layer.input_shape) == 3:
        h, w, c = layer.input_shape
        return torch_value.reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
    return torch_value


@pytest.fixture(scope="module", params=MODELS)
def loaded(request):
    name = request.param
    ref = np.load(FIXTURES / f"{name}_reference.npz")
    model = tsp.load(FIXTURES / f"{name}.onnx")
    return name, model, ref


def test_output_and_argmax_match_torch(loaded):
    name, model, ref = loaded
    x = ref["x"][0].transpose(1, 2, 0)  # an (h, w, c) image for an NCHW model
    y = model.predict(x)
    expected = ref["output"][0]
    expected = expected.transpose(1, 2, 0) if expected.ndim == 3 else expected  # a map out
    assert close(y, expected), f"{name}: max diff {np.abs(y - expected).max()}"
    assert y.argmax() == expected.argmax()


def test_every_layer_matches_its_torch_module(loaded):
    name, model, ref = loaded
    model.predict(ref["x"][0].transpose(1, 2, 0))
    compared, bad = 0, []
    for layer in model.layers:
        key = f"module:{layer.name}"
        if layer.layer_type in WEIGHTED:
            assert key in ref, f"{name}: layer {layer.name!r} has no torch module of that name"
        if key not in ref:
            continue
        expected = as_ours(layer, ref[key][0])
        if not close(layer.neural_value, expected):
            diff = (np.abs(layer.neural_value - expected).max()
                    if layer.neural_value.shape == expected.shape else "shape")
            bad.append((layer.name, layer.layer_type, diff))
        compared += 1
    assert not bad, f"{name}: {bad[:5]}"
    assert compared >= sum(layer.layer_type in WEIGHTED for layer in model.layers) > 0


def test_a_depthwise_pixel_of_a_torch_model_is_explained_with_torch_numbers():
    from tspwidget.core.inspect import depthwise_breakdown

    ref = np.load(FIXTURES / "mobilenet_v2_reference.npz")
    model = tsp.load(FIXTURES / "mobilenet_v2.onnx")
    model.predict(ref["x"][0].transpose(1, 2, 0))
    layer = model.get_layer("features.2.conv.1.0")  # 3x3 stride 2: torch's pads before it
    assert layer.layer_type == "DepthwiseConv2d" and layer.strides == (2, 2)
    assert layer.inbound_layers[0].layer_type == "Padding2d"
    torch_value = ref[f"module:{layer.name}"][0]  # (C, H, W)
    for channel, row, col in [(0, 0, 0), (5, 3, 7), (layer.output_shape[2] - 1, 15, 15)]:
        info = depthwise_breakdown(layer, channel, row, col)
        assert info["input_channel"] == channel // layer.depth_multiplier
        assert np.isclose(info["value"], info["displayed"], rtol=1e-5, atol=1e-6)
        assert np.isclose(info["value"], torch_value[channel, row, col], rtol=1e-4, atol=1e-4)


def test_a_loaded_torch_model_builds_a_view():
    model = tsp.load(FIXTURES / "lenet.onnx")
    model.predict(np.load(FIXTURES / "lenet_reference.npz")["x"][0].transpose(1, 2, 0))
    view = tsp.ModelView(model)
    assert view is not None and model.get_layer("conv1").layer_type == "Conv2d"


@pytest.mark.parametrize("name", ["lenet", "shufflenet_v2_x0_5", "convnext", "unet"])
def test_a_loaded_model_round_trips_as_plain_config_and_weights(name):
    import json

    ref = np.load(FIXTURES / f"{name}_reference.npz")
    model = tsp.load(FIXTURES / f"{name}.onnx")
    config = json.loads(json.dumps(model.get_config()))  # plain data
    twin = tsp.Model.from_config(config).init(seed=1)
    twin.set_weights(model.get_weights())
    x = ref["x"][0].transpose(1, 2, 0)
    assert np.array_equal(twin.predict(x), model.predict(x))
