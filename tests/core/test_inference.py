"""Model.predict's fused pass (core/inference.py) against the layer-by-layer pass."""

import weakref

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.core import ops
from tspwidget.layers import (
    Activation,
    Add,
    BatchNorm,
    Conv2d,
    Dense,
    DepthwiseConv2d,
    Flatten,
    GlobalPooling2d,
    Input3d,
    Padding2d,
)


def _bn(rng, c, name):
    return BatchNorm(gamma=rng.uniform(0.5, 2, c), beta=rng.normal(size=c),
                     moving_mean=rng.normal(size=c), moving_variance=rng.uniform(0.2, 3, c),
                     epsilon=1e-5, name=name)


def _block_model(outputs=("dense",)):
    """An inverted-residual block in the shape PyTorch exports it: pad -> depthwise -> BN ->
    ReLU6 -> 1x1 -> BN -> Add -> ReLU, then a 3x3 conv, pooling and a dense layer."""
    rng = np.random.default_rng(3)
    made = {}

    def keep(layer):
        made[layer.name] = layer
        return layer

    x = keep(Input3d(shape=(9, 11, 4), name="input"))
    p = keep(Padding2d(((1, 1), (1, 1)), name="pad")).apply(x)
    d = keep(DepthwiseConv2d(3, depth_multiplier=2, name="dw")).apply(p)
    d = keep(_bn(rng, 8, "dw_bn")).apply(d)
    d = keep(Activation("relu", max_value=6, name="dw_relu6")).apply(d)
    c = keep(Conv2d(4, 1, name="project")).apply(d)
    c = keep(_bn(rng, 4, "project_bn")).apply(c)
    a = keep(Add(name="add")).apply([x, c])
    a = keep(Activation("relu", name="add_relu")).apply(a)
    s = keep(Conv2d(6, 3, strides=2, padding="same", activation="relu", name="conv3")).apply(a)
    g = keep(GlobalPooling2d(name="gap")).apply(s)
    f = keep(Flatten(name="flat")).apply(g)
    keep(Dense(5, name="dense")).apply(f)
    return tsp.Model([x], [made[n] for n in outputs]).init(seed=1)


def _values(model):
    return {layer.name: np.array(layer.neural_value) for layer in model.layers}


@pytest.fixture
def image():
    return np.random.default_rng(0).normal(size=(9, 11, 4)).astype(np.float32)


def test_chains_cover_the_foldable_runs():
    model = _block_model()
    model.predict(np.zeros((9, 11, 4), np.float32))
    steps = [[layer.name for layer in step.layers] for step in model._plan]
    assert steps == [["pad", "dw", "dw_bn", "dw_relu6"], ["project", "project_bn"],
                     ["add", "add_relu"], ["conv3"], ["gap"], ["flat"], ["dense"]]


def test_fused_matches_layer_by_layer(image):
    model = _block_model()
    want = model.predict(image, fuse=False)
    want_values = _values(model)
    got = model.predict(image)
    assert np.allclose(got, want, rtol=1e-5, atol=1e-5)
    for name, value in _values(model).items():
        assert np.allclose(value, want_values[name], rtol=1e-5, atol=1e-5), name


def test_layers_inside_a_chain_get_their_own_unfused_values(image):
    model = _block_model()
    model.predict(image, fuse=False)
    want = _values(model)
    model.predict(image)
    inside = ["pad", "dw", "dw_bn", "project", "add"]
    assert all(model.get_layer(n)._deferred is not None for n in inside)
    assert model.get_layer("dw_relu6")._deferred is None
    for name in inside:  # the depthwise output is not the BN's: each layer shows its own
        np.testing.assert_allclose(model.get_layer(name).neural_value, want[name], rtol=1e-6, atol=1e-6)
    assert not np.allclose(want["dw"], want["dw_bn"])


def test_a_model_output_is_never_folded_away(image):
    model = _block_model(outputs=("project", "dense"))
    model.predict(image)
    chains = [[layer.name for layer in step.layers] for step in model._plan]
    assert ["project"] in chains and ["project_bn"] in chains
    project, _ = model.predict(image)
    np.testing.assert_allclose(project, model.predict(image, fuse=False)[0], rtol=1e-6, atol=1e-6)


def test_new_weights_are_refolded(image):
    model = _block_model()
    model.predict(image)
    c = 8
    model.set_weights({"dw_bn": {"gamma": np.full(c, 3.0, np.float32)}})
    got = model.predict(image)
    np.testing.assert_allclose(got, model.predict(image, fuse=False), rtol=1e-5, atol=1e-5)


def test_batch_and_input_are_left_alone(image):
    model = _block_model()
    batch = np.stack([image, image[::-1, ::-1]])
    before = batch.copy()
    got = model.predict(batch)
    assert np.array_equal(batch, before)
    np.testing.assert_allclose(got, model.predict(batch, fuse=False), rtol=1e-5, atol=1e-5)
    batch[0] = 7  # the input layer's value is a copy of the user's array
    assert not np.any(model.get_layer("input").neural_value == 7)


def test_values_of_one_sample_are_read_only(image):
    model = _block_model()
    model.predict(image)
    with pytest.raises(ValueError):
        model.get_layer("dw_relu6").neural_value[0, 0, 0] = 1


def test_fuse_must_be_a_bool(image):
    with pytest.raises(TypeError, match="`fuse` must be True or False, got 'yes'"):
        _block_model().predict(image, fuse="yes")


@pytest.mark.parametrize("im2col_bytes", [0, ops._IM2COL_BYTES])
@pytest.mark.parametrize("width", [5, 20])  # narrow pictures take the 2-D product
def test_conv2d_routes_agree_with_a_loop(monkeypatch, im2col_bytes, width):
    monkeypatch.setattr(ops, "_IM2COL_BYTES", im2col_bytes)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 7, width, 3)).astype(np.float32)
    k = rng.normal(size=(3, 2, 3, 4)).astype(np.float32)
    got = ops.conv2d(x, k, strides=(1, 2), padding="valid")
    ho, wo = 5, (width - 2) // 2 + 1
    want = np.zeros((2, ho, wo, 4))
    for r in range(ho):
        for q in range(wo):
            window = x[:, r:r + 3, 2 * q:2 * q + 2].astype(np.float64)
            want[:, r, q] = np.einsum("nijc,ijcf->nf", window, k)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _conv_model():
    """Its output is a chain's (conv -> BN -> ReLU6), so the returned array is a reused one."""
    rng = np.random.default_rng(4)
    x = Input3d(shape=(6, 7, 3), name="input")
    c = Conv2d(5, 1, name="conv").apply(x)
    c = _bn(rng, 5, "bn").apply(c)
    y = Activation("relu", max_value=6, name="relu6").apply(c)
    return tsp.Model([x], [y]).init(seed=2)


def test_a_kept_result_is_never_overwritten():
    model = _conv_model()
    rng = np.random.default_rng(1)
    a, b = (rng.normal(size=(6, 7, 3)).astype(np.float32) for _ in range(2))
    first = model.predict(a)
    want = first.copy()
    second = model.predict(b)
    assert np.array_equal(first, want)
    assert not np.shares_memory(first, second)
    np.testing.assert_allclose(second, model.predict(b, fuse=False), rtol=1e-6, atol=1e-6)


def test_a_kept_value_or_view_of_it_is_never_overwritten():
    model = _conv_model()
    rng = np.random.default_rng(1)
    a, b = (rng.normal(size=(6, 7, 3)).astype(np.float32) for _ in range(2))
    model.predict(a)
    value = model.get_layer("relu6").neural_value
    corner = model.predict(a)[:2, :2]  # only a view of the result is kept
    want_value, want_corner = value.copy(), corner.copy()
    model.predict(b)
    assert np.array_equal(value, want_value) and np.array_equal(corner, want_corner)
    assert not value.flags.writeable


def test_an_unheld_output_array_is_reused():
    model = _conv_model()
    image = np.ones((6, 7, 3), np.float32)
    model.predict(image)
    chain = model._plan[0]
    before = weakref.ref(chain._local.array)  # a weak reference does not count as a holder
    model.predict(image)
    assert chain._local.array is before()


def test_batches_get_new_arrays(image):
    model = _block_model()
    batch = np.stack([image, image[::-1]])
    first = model.predict(batch)
    want = first.copy()
    model.predict(batch[::-1])
    assert np.array_equal(first, want)


def test_a_replaced_bias_is_seen_by_a_chain_without_batchnorm(image):
    model = _block_model()
    model.predict(image)
    conv3 = model.get_layer("conv3")
    model.set_weights({"conv3": {"bias": np.full(6, 0.5, np.float32)}})
    assert conv3.bias[0] == 0.5
    np.testing.assert_allclose(model.predict(image), model.predict(image, fuse=False), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kept_bytes", [0, ops._KEPT_COLUMNS_BYTES])
@pytest.mark.parametrize("kernel_hw, strides, dilation, pads", [
    ((3, 3), (2, 2), (1, 1), ((1, 1), (1, 1))),
    ((3, 2), (1, 2), (2, 1), ((0, 2), (1, 0))),
    ((1, 1), (1, 1), (1, 1), ((0, 0), (0, 0))),
])
def test_a_prepared_conv_matches_the_engine_on_every_call(monkeypatch, kept_bytes, kernel_hw, strides,
                                                          dilation, pads):
    monkeypatch.setattr(ops, "_KEPT_COLUMNS_BYTES", kept_bytes)
    rng = np.random.default_rng(6)
    kernel = rng.normal(size=(*kernel_hw, 3, 4)).astype(np.float32)
    shape = (2, 9, 8, 3)
    out_hw = ops.explicit_out_hw(shape[1:3], kernel_hw, strides, dilation, pads)
    run = ops.conv2d_runner(shape, kernel, strides, dilation, pads, out_hw, 1)
    for _ in range(2):  # the kept padded input and columns are refilled, the border stays zero
        x = rng.normal(size=shape).astype(np.float32)
        out = np.full((2, *out_hw, 4), np.nan, np.float32)
        run(x, out)
        want = ops.conv2d_batch(x, kernel, None, strides, dilation, pads, out_hw)
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
