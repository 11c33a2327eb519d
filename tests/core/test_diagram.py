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


def _se_model(extra_reader=False):
    """dw -> BN -> ReLU, a squeeze-excitation gate on it (pool, 1x1 convs, hard sigmoid), the
    Multiply, then a 1x1 conv; with ``extra_reader`` the gated map also feeds an Add."""
    from tspwidget.layers import Activation, Add, BatchNorm, Conv2d, DepthwiseConv2d, GlobalPooling2d, Input3d, Multiply

    x = Input3d(shape=(8, 8, 4), name="x")
    d = Activation("relu", name="dw_relu").apply(BatchNorm(name="dw_bn").apply(
        DepthwiseConv2d(3, padding="same", name="dw").apply(x)))
    g = GlobalPooling2d(keepdims=True, name="se_pool").apply(d)
    g = Activation("relu", name="se_relu").apply(Conv2d(2, 1, name="se_fc1").apply(g))
    g = Activation("hard_sigmoid", name="se_gate").apply(Conv2d(4, 1, name="se_fc2").apply(g))
    m = Multiply(name="se_scale").apply([g, d])
    out = Conv2d(4, 1, name="project").apply(m)
    if extra_reader:
        out = Add(name="add").apply([out, d])
    return tsp.Model([x], [out]).init(seed=0)


def test_a_squeeze_excitation_gate_is_drawn_inside_the_map_it_scales():
    model = _se_model()
    dia = diagram.build(model)
    names = [layer.name for layer in dia.layers]
    assert names == ["x", "dw", "project"]
    assert [f.name for f in dia.folded["dw"]] == ["dw_bn", "dw_relu", "se_scale/SE"]
    gate = dia.folded["dw"][-1]
    assert [layer.name for layer in gate.layers] == ["se_pool", "se_fc1", "se_relu", "se_fc2", "se_gate"]
    assert "+BN +ReLU +SE · 8x8x4" in diagram.label_text(dia.layers[1], dia.folded["dw"])
    assert {dia.owner[n] for n in ("se_pool", "se_gate", "se_scale")} == {"dw"}
    assert dia.inputs[names.index("project")] == (names.index("dw"),)
    model.predict(np.ones((8, 8, 4), np.float32))
    assert set(diagram.folded_values(dia, "dw", 0, 1, 1)) == {"dw_bn", "dw_relu"}  # not the gate's


def test_a_gate_whose_map_is_read_elsewhere_stays_on_its_multiply():
    dia = diagram.build(_se_model(extra_reader=True))
    names = [layer.name for layer in dia.layers]
    assert names == ["x", "dw", "se_scale", "project", "add"]
    assert [f.name for f in dia.folded["se_scale"]] == ["se_scale/SE"]
    assert dia.inputs[names.index("se_scale")] == (names.index("dw"),)
    hidden = diagram.build(_se_model(), hide=["se_fc1"])  # a gate with a hidden layer is drawn as it is
    assert "se_scale" in [layer.name for layer in hidden.layers] and hidden.owner["se_pool"] == "se_pool"
    assert not diagram.build(_se_model(), fold=False).folded


def test_a_padding_after_an_activation_joins_the_convolution_it_feeds():
    from tspwidget.layers import Activation, Conv2d, DepthwiseConv2d, Input3d, Padding2d

    x = Input3d(shape=(8, 8, 2), name="x")
    a = Activation("relu", name="relu").apply(Conv2d(4, 1, name="expand").apply(x))
    d = DepthwiseConv2d(3, strides=2, name="dw").apply(Padding2d(1, name="pad").apply(a))
    model = tsp.Model([x], [d]).init(seed=0)
    dia = diagram.build(model)
    assert [f.name for f in dia.folded["expand"]] == ["relu"]
    assert [f.name for f in dia.folded["dw"]] == ["pad"]
    assert diagram.label_text(dia.layers[1], dia.folded["expand"]).endswith("· 8x8x4")  # not the padded 10x10
    assert diagram.drawn_input(dia, model.get_layer("dw")) == "expand"


def _channels(shape, picked, name):
    """A ``Rearrange`` that picks the channels ``picked`` of an (h, w, c) map."""
    from tspwidget.layers import Rearrange

    h, w, c = shape
    indices = (np.arange(h * w)[:, None] * c + np.asarray(picked)[None, :]).ravel()
    return Rearrange(indices, (h, w, len(picked)), name=name)


def _shuffle_unit():
    """ShuffleNet's unit: Concat -> channel shuffle -> split in two; one half is kept, the other
    goes through a 1x1 conv; both joined again. A third split feeds a depthwise conv."""
    from tspwidget.layers import Concatenate, Conv2d, DepthwiseConv2d, Input3d

    x = Input3d(shape=(4, 4, 4), name="x")
    cat = Concatenate(name="cat").apply([Conv2d(2, 1, name="left").apply(x), Conv2d(2, 1, name="right").apply(x)])
    shuffled = _channels((4, 4, 4), [0, 2, 1, 3], "shuffle").apply(cat)
    keep = _channels((4, 4, 4), [0, 1], "keep").apply(shuffled)
    branch = Conv2d(2, 1, name="branch").apply(_channels((4, 4, 4), [2, 3], "take").apply(shuffled))
    out = Concatenate(name="cat2").apply([keep, branch])
    dw = DepthwiseConv2d(3, padding="same", name="dw").apply(_channels((4, 4, 4), [1, 2], "to_dw").apply(shuffled))
    return tsp.Model([x], [out, dw]).init(seed=0)


def test_a_channel_shuffle_joins_its_concat_and_a_split_the_layer_it_feeds():
    model = _shuffle_unit()
    dia = diagram.build(model)
    names = [layer.name for layer in dia.layers]
    assert names == ["x", "left", "right", "cat", "branch", "cat2", "to_dw", "dw"]
    assert [f.name for f in dia.folded["cat"]] == ["shuffle"]
    assert [f.name for f in dia.folded["branch"]] == ["take"] and [f.name for f in dia.folded["cat2"]] == ["keep"]
    # The kept half is drawn as a link from the shuffled map, straight into the second Concat.
    assert dia.inputs[names.index("cat2")] == (names.index("cat"), names.index("branch"))
    assert dia.inputs[names.index("branch")] == (names.index("cat"),)
    assert diagram.label_text(dia.layers[3], dia.folded["cat"]).endswith("+shuffle · 4x4x4")
    assert diagram.label_text(dia.layers[4], dia.folded["branch"]).endswith("+split · 4x4x2")
    # A depthwise layer's maps each come from one drawn input map: its split stays a node.
    assert dia.inputs[names.index("dw")] == (names.index("to_dw"),)
    assert diagram.drawn_input(dia, model.get_layer("dw")) == "to_dw"
    assert not diagram.build(model, fold=False).folded


def test_side_by_side_layers_drop_the_name_prefix_they_share_when_labels_are_short():
    from tspwidget.layers import Concatenate, Conv2d, Input3d

    x = Input3d(shape=(4, 4, 2), name="x")
    squeeze = Conv2d(2, 1, name="features.3.squeeze").apply(x)
    a = Conv2d(2, 1, name="features.3.expand1x1").apply(squeeze)
    b = Conv2d(2, 3, padding="same", name="features.3.expand3x3").apply(squeeze)
    c = Conv2d(2, 1, name="features.30").apply(squeeze)  # no longer prefix in common with "features.3..."
    model = tsp.Model([x], [Concatenate(name="features.3").apply([a, b]), c]).init(seed=0)
    dia = diagram.build(model)
    shorts = dict(zip((layer.name for layer in dia.layers), diagram.short_labels(dia)))
    assert shorts == {"x": "x", "features.3.squeeze": "features.3.squeeze", "features.3.expand1x1": "3.expand1x1",
                      "features.3.expand3x3": "3.expand3x3", "features.30": "30", "features.3": "features.3"}

    x = Input3d(shape=(4, 4, 2), name="x")
    a, b = (Conv2d(2, 1, name=f"features.3.expand{k}").apply(x) for k in ("1x1", "3x3"))
    lone = tsp.Model([x], [Concatenate(name="cat").apply([a, b])]).init(seed=0)
    assert diagram.short_labels(diagram.build(lone)) == ["x", "expand1x1", "expand3x3", "cat"]
