"""Small ONNX graphs built here with onnx.helper: what single ops become."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import tspwidget as tsp

from .test_onnx_hostile import conv_model, save


def test_a_plain_conv_file_loads_and_computes(tmp_path):
    model = tsp.load(save(conv_model(), tmp_path / "ok.onnx"))
    y = model.predict(np.ones((8, 8, 3), np.float32))
    assert y.shape == (6, 6, 4) and np.allclose(y, 27.0)  # 3x3x3 ones
    assert model.layers[1].name == "block.conv"


def test_matmul_then_bias_add_is_one_dense(tmp_path):
    rng = np.random.default_rng(3)
    w, b = rng.normal(size=(12, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="/flatten/Flatten"),
             helper.make_node("MatMul", ["f", "w"], ["m"], name="/fc/MatMul"),
             helper.make_node("Add", ["m", "b"], ["y"], name="/fc/Add")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    path = save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
                tmp_path / "mm.onnx")
    model = tsp.load(path)
    x = rng.normal(size=(1, 3, 2, 2)).astype(np.float32)
    assert [layer.layer_type for layer in model.layers] == ["RGBInput", "Flatten", "Dense"]
    assert model.get_layer("fc").bias is not None
    assert np.allclose(model.predict(x[0].transpose(1, 2, 0)), x.reshape(1, -1) @ w + b,
                       atol=1e-5)


def test_per_channel_constants_become_one_layer_each(tmp_path):
    """``(x - mean) / std`` inside forward, and a scalar scale: per channel, then a Rescaling."""
    rng = np.random.default_rng(4)
    mean = rng.normal(size=(1, 3, 1, 1)).astype(np.float32)
    std = rng.uniform(0.5, 2, size=(3, 1, 1)).astype(np.float32)  # broadcasts from the right
    nodes = [helper.make_node("Sub", ["x", "mean"], ["s"], name="/norm/Sub"),
             helper.make_node("Div", ["s", "std"], ["d"], name="/norm/Div"),
             helper.make_node("Mul", ["two", "d"], ["y"], name="/scale/Mul")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(mean, "mean"), numpy_helper.from_array(std, "std"),
                     numpy_helper.from_array(np.array(2.0, np.float32), "two")])
    model = tsp.load(save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
                          tmp_path / "norm.onnx"))
    x = rng.normal(size=(1, 3, 4, 5)).astype(np.float32)
    expected = (2 * (x - mean) / std)[0].transpose(1, 2, 0)
    assert [layer.layer_type for layer in model.layers[1:]] == [
        "ChannelAffine", "ChannelAffine", "Rescaling"]
    assert np.allclose(model.predict(x[0].transpose(1, 2, 0)), expected, atol=1e-5)


def test_load_reports_progress_node_by_node():
    from pathlib import Path

    calls = []
    fixtures = Path(__file__).parent.parent / "fixtures" / "onnx"
    tsp.io.load(fixtures / "lenet.onnx", progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] == len(calls)
    assert [done for done, _ in calls] == list(range(1, len(calls) + 1))


def test_channel_axis_ops_on_a_channel_last_picture(tmp_path):
    """After a permute to (1, H, W, C), Concat on axis 3 joins channels; BatchNormalization (which
    normalises axis 1, the rows there) is refused rather than computed on the wrong axis."""
    def model(second):
        nodes = [helper.make_node("Transpose", ["x"], ["t"], name="/p/Transpose",
                                  perm=[0, 2, 3, 1]),
                 helper.make_node("Relu", ["t"], ["r"], name="/act/Relu"), second]
        inits = [numpy_helper.from_array(np.ones(4, np.float32), n) for n in "abcd"]
        graph = helper.make_graph(
            nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 5])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])

    cat = helper.make_node("Concat", ["t", "r"], ["y"], name="/cat/Concat", axis=3)
    loaded = tsp.load(save(model(cat), tmp_path / "cat.onnx"))
    x = np.random.default_rng(0).normal(size=(4, 5, 3)).astype(np.float32)
    assert np.array_equal(loaded.predict(x), np.concatenate([x, np.maximum(x, 0)], -1))
    bn = helper.make_node("BatchNormalization", ["r", "a", "b", "c", "d"], ["y"], name="/bn/BN")
    with pytest.raises(tsp.io.ModelFileError, match="must be a computed \\(1, C, H, W\\)"):
        tsp.load(save(model(bn), tmp_path / "bn.onnx"))


def test_from_torch_without_torch_says_so(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # as if it were not installed
    with pytest.raises(ImportError, match="tsp.from_torch needs PyTorch"):
        tsp.from_torch(object(), np.zeros((3, 4, 4)))
