"""The layer types model files need, against their Keras definitions written out in numpy."""

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.core import conv2d
from tspwidget.core.activations import ACTIVATIONS, activate, relu
from tspwidget.layers import (
    Activation,
    Add,
    BatchNorm,
    Concatenate,
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    GlobalPooling2d,
    Input3d,
    Padding2d,
    Rescaling,
    Reshape,
)

from . import reference

RNG = np.random.default_rng(7)
X = RNG.standard_normal((2, 6, 5, 4)).astype(np.float32)


def run(*layers, x=X):
    model = tsp.Sequential([Input3d(shape=x.shape[1:]), *layers]).init(seed=0)
    return model.predict(x), model


def test_relu_layer_options():
    y, _ = run(Activation("relu", max_value=1.0, negative_slope=0.1, threshold=0.2))
    expected = np.where(X >= 0.2, np.minimum(X, 1.0), 0.1 * (X - 0.2))
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="need activation='relu'"):
        Activation("tanh", max_value=1)


@pytest.mark.parametrize("name,fn", [
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))), ("tanh", np.tanh),
    ("hard_sigmoid", lambda x: np.clip(x + 3, 0, 6) / 6),
    ("hard_sigmoid_legacy", lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    ("hard_swish", lambda x: x * np.clip(x + 3, 0, 6) / 6),
    ("swish", lambda x: x / (1 + np.exp(-x))), ("relu6", lambda x: np.clip(x, 0, 6)),
])
def test_activations(name, fn):
    x = np.linspace(-8, 8, 101).astype(np.float32)
    np.testing.assert_allclose(activate(x.copy(), name), fn(x.astype(np.float64)), atol=1e-6)


def test_softmax_and_aliases():
    y, _ = run(Flatten(), Dense(5, activation="softmax"))
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-6)
    assert Activation("silu").activation == "swish" and Activation("hard_silu").activation == "hard_swish"
    assert set(ACTIVATIONS) >= {"linear", "relu", "relu6", "softmax", "sigmoid", "tanh"}
    assert np.isnan(relu(np.array([np.nan], np.float32)))[0]


def test_batch_norm_formula_and_checks():
    g, b, m, v = (RNG.random(4).astype(np.float32) + 0.5 for _ in range(4))
    y, _ = run(BatchNorm(epsilon=1e-3, gamma=g, beta=b, moving_mean=m, moving_variance=v))
    np.testing.assert_allclose(y, (X - m) / np.sqrt(v + 1e-3) * g + b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"`gamma` has shape \(3,\).*\(4,\)"):
        run(BatchNorm(gamma=np.ones(3)))


@pytest.mark.parametrize("scale,center", [(False, True), (True, False), (False, False)])
def test_batch_norm_without_gamma_or_beta(scale, center):
    m, v = RNG.random(4).astype(np.float32), RNG.random(4).astype(np.float32) + 0.5
    given = dict(gamma=RNG.random(4) + 0.5 if scale else None, beta=RNG.random(4) if center else None)
    bn = BatchNorm(scale=scale, center=center, moving_mean=m, moving_variance=v,
                   **{k: a for k, a in given.items() if a is not None})
    y, _ = run(bn)
    gamma = given["gamma"] if scale else 1.0  # Keras: absent gamma is 1, absent beta 0
    beta = given["beta"] if center else 0.0
    np.testing.assert_allclose(y, (X - m) / np.sqrt(v + 1e-3) * gamma + beta, rtol=1e-5, atol=1e-6)
    roles = [r for r in ("gamma", "beta") if {"gamma": scale, "beta": center}[r]]
    assert bn.weight_roles == (*roles, "moving_mean", "moving_variance")
    assert set(bn.get_weights()) == set(bn.weight_roles) == set(bn.weight_shapes())
    assert bn.param_count == 4 * len(bn.weight_roles)
    with pytest.raises(ValueError, match="has no weight"):
        bn.set_weights({"gamma" if not scale else "beta": np.ones(4)})
    missing = "gamma" if not scale else "beta"
    with pytest.raises(ValueError, match=f"`{missing}` was given but"):
        BatchNorm(scale=scale, center=center, **{missing: np.ones(4)})
    with pytest.raises(TypeError, match="`scale` must be True or False"):
        BatchNorm(scale=1)


def test_padding_pooling_flatten_reshape_dense():
    y, _ = run(Padding2d(((0, 1), (2, 0))))
    assert y.shape == (2, 7, 7, 4) and np.all(y[:, -1] == 0) and np.all(y[:, :, :2] == 0)
    y, _ = run(GlobalPooling2d("max", keepdims=True))
    np.testing.assert_array_equal(y, X.max(axis=(1, 2), keepdims=True))
    y, _ = run(Flatten())
    np.testing.assert_array_equal(y, X.reshape(2, -1))  # channel-last row-major, as Keras
    y, _ = run(Reshape((-1, 8)))
    assert y.shape == (2, 15, 8)
    kernel = RNG.standard_normal((4, 3)).astype(np.float32)
    y, _ = run(GlobalPooling2d("avg"), Dense(kernel=kernel, bias=np.ones(3)), Dropout(0.3))
    np.testing.assert_allclose(y, X.mean(axis=(1, 2)) @ kernel + 1, rtol=1e-5)
    with pytest.raises(ValueError, match="cannot hold"):
        run(Reshape((7, 7)))
    with pytest.raises(ValueError, match=r"Conv2d needs an \(h, w, c\) input"):
        run(Flatten(), Conv2d(2, 1))


def test_rescaling_and_merges():
    y, _ = run(Rescaling(2.0, -1.0))
    np.testing.assert_allclose(y, X * 2 - 1, rtol=1e-6)
    inp = Input3d(shape=(6, 5, 4))
    a, b = Conv2d(3, 1).apply(inp), Conv2d(3, 1).apply(inp)
    s = Add().apply([a, b])
    c = Concatenate().apply([s, inp])
    model = tsp.Model(inputs=inp, outputs=c).init(seed=0)
    out = model.predict(X)
    assert out.shape == (2, 6, 5, 7)
    np.testing.assert_allclose(out[0, ..., :3], a.neural_value + b.neural_value, atol=1e-5)
    with pytest.raises(TypeError, match="list of two or more layers"):
        Add().apply(inp)
    inp2 = Input3d(shape=(6, 5, 4))
    with pytest.raises(ValueError, match="one shape"):
        tsp.Model(inputs=inp2, outputs=Add().apply([Conv2d(3, 1).apply(inp2),
                                                    Conv2d(2, 1).apply(inp2)])).init()


def test_grouped_conv_is_per_group_conv():
    k = RNG.standard_normal((3, 3, 2, 6)).astype(np.float32)
    y = conv2d(X, k, strides=(1, 2), padding="same", groups=2)
    for g in range(2):
        for n in range(2):
            ref = reference.conv(X[n, ..., 2 * g:2 * g + 2], k[..., 3 * g:3 * g + 3], None, (1, 2), "same")
            np.testing.assert_allclose(y[n, ..., 3 * g:3 * g + 3], ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="`groups` 3 must divide the input's 4"):
        run(Conv2d(6, 1, groups=3))
