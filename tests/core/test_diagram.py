"""Which layers a view draws: folding BatchNorm/activation/padding into their convolution."""

from pathlib import Path

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.core import diagram

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


@pytest.fixture(scope="module")
def v2():
    model = tsp.load(MODELS / "mobilenet_v2.keras")
    model.predict(np.random.default_rng(0).random(model.inputs[0].output_shape))
    return model


def test_fold_draws_a_conv_bn_relu_chain_as_one_node(v2):
    dia = diagram.build(v2)
    names = [layer.name for layer in dia.layers]
    assert "Conv1" in names and "bn_Conv1" not in names and "Conv1_relu" not in names
    assert [f.name for f in dia.folded["Conv1"]] == ["bn_Conv1", "Conv1_relu"]
    label = diagram.label_text(dia.layers[names.index("Conv1")], dia.folded["Conv1"])
    assert "+BN +ReLU6" in label
    assert dia.owner["bn_Conv1"] == "Conv1" and dia.owner["Conv1"] == "Conv1"
    # Residual adds keep both inputs, through folded layers: block_2_add reads block_1's project
    # (its BN folded) and block_2_project.
    add = names.index("block_2_add")
    assert {names[i] for i in dia.inputs[add]} == {"block_1_project", "block_2_project"}
    everything = diagram.build(v2, fold=False)
    assert len(everything.layers) == len(v2.layers) and not everything.folded
    assert len(dia.layers) < len(v2.layers) / 2


def test_hide_and_folded_values(v2):
    dia = diagram.build(v2, hide=["Add"])
    assert not any(layer.layer_type == "Add" for layer in dia.layers)
    assert dia.owner["block_2_add"] is None
    dia = diagram.build(v2)
    values = diagram.folded_values(dia, "Conv1", 3, 1, 2)
    bn, relu = v2.get_layer("bn_Conv1"), v2.get_layer("Conv1_relu")
    assert values == {"bn_Conv1": pytest.approx(float(bn.neural_value[1, 2, 3])),
                      "Conv1_relu": pytest.approx(float(relu.neural_value[1, 2, 3]))}
    assert 0 <= values["Conv1_relu"] <= 6


def test_selected_reports_the_folded_outputs(v2):
    view = v2.show()
    conv = v2.get_layer("Conv1")
    view._select(conv, 3, 1, 2)
    assert set(view.selected["folded"]) == {"bn_Conv1", "Conv1_relu"}
    assert "after Conv1_relu" in view.info.value
    assert "+BN +ReLU6" in view.controller.plan["nodes"][1]["full"]
    with pytest.warns(UserWarning, match="labels are only"):  # 150 layers do not fit 800x500
        unfolded = v2.show(fold=False)
    assert "bn_Conv1" in unfolded.scene.layers
    view.close()
    unfolded.close()


def _resnet_like():
    from tspwidget.layers import Activation, Add, Conv2d, DepthwiseConv2d, Input3d, Padding2d

    x = Input3d(shape=(8, 8, 4), name="x")
    pad = Padding2d(1, name="pad").apply(x)  # only feeds dw: drawn inside dw
    dw = DepthwiseConv2d(3, name="dw").apply(pad)
    pw = Conv2d(4, 1, name="pw").apply(dw)
    add = Add(name="add").apply([x, pw])
    relu = Activation("relu", name="relu").apply(add)  # after the sum: drawn inside add
    shared = Padding2d(1, name="shared").apply(x)  # feeds two layers: drawn on its own
    a = Conv2d(2, 3, name="a").apply(shared)
    b = Conv2d(2, 3, name="b").apply(shared)
    model = tsp.Model(x, [relu, a, b]).init(seed=0)
    model.predict(np.random.default_rng(1).random((8, 8, 4)).astype(np.float32))
    return model


def test_a_padding_joins_the_convolution_it_feeds_and_an_add_its_activation():
    model = _resnet_like()
    dia = diagram.build(model)
    names = [layer.name for layer in dia.layers]
    assert sorted(names) == sorted(["x", "dw", "pw", "add", "shared", "a", "b"])
    assert [f.name for f in dia.folded["dw"]] == ["pad"] and [f.name for f in dia.folded["add"]] == ["relu"]
    assert dia.owner["pad"] == "dw" and dia.owner["relu"] == "add"
    dw = model.get_layer("dw")
    assert diagram.drawn_input(dia, dw) == "x"  # looks through its own padding
    assert dia.inputs[names.index("dw")] == (names.index("x"),)
    assert dia.inputs[names.index("add")] == (names.index("x"), names.index("pw"))
    label = diagram.label_text(dw, dia.folded["dw"])
    assert "+pad" in label and label.endswith("· 8x8x4")  # the convolution's shape, not the padded one
    assert diagram.folded_values(dia, "dw", 0, 1, 1) == {}  # the padding's values have another shape
    assert set(diagram.folded_values(dia, "add", 2, 3, 3)) == {"relu"}
    everything = diagram.build(model, fold=False)
    assert len(everything.layers) == len(model.layers)
    hidden = diagram.build(model, hide=["dw"])  # a hidden host takes no padding
    assert "pad" in [layer.name for layer in hidden.layers]
