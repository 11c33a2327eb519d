"""The shipped digits data and trained models, against scikit-learn's data and Keras's own answers.

tests/fixtures/digits_reference.npz was written by the dev-only tests/fixtures/train_digits.py (Keras 3)
together with the model files in tspwidget/datasets/; no TensorFlow is needed here.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.datasets import DIGITS_EPOCHS, DIGITS_TRAIN_SAMPLES, upsample_digits

sklearn_datasets = pytest.importorskip("sklearn.datasets")

REFERENCE = np.load(Path(__file__).resolve().parent / "fixtures" / "digits_reference.npz")
WEIGHT_ROLES = ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance")


@pytest.fixture(scope="module")
def data():
    return tsp.datasets.digits()


@pytest.fixture(scope="module")
def checkpoints():
    return tsp.datasets.digits_checkpoints()


def _heldout_predictions(model, images):
    return np.argmax(model.predict(images[DIGITS_TRAIN_SAMPLES:]), axis=1)


def _weights(model):
    return {(layer.name, role): getattr(layer, role) for layer in model.layers for role in WEIGHT_ROLES
            if getattr(layer, role, None) is not None}


def _architecture(model):
    return [(layer.name, layer.layer_type, layer.output_shape, getattr(layer, "config_text", None))
            for layer in model.layers]


# ------------------------------------------------------------------------------------------ the data


def test_digits_are_sklearns_in_its_order(data):
    images, labels = data
    bunch = sklearn_datasets.load_digits()
    assert images.shape == (1797, 28, 28, 1) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, bunch.target)
    np.testing.assert_array_equal(images, upsample_digits(bunch.images))
    assert images.min() == 0.0 and images.max() == 1.0


def test_upsampling_is_a_bilinear_resize_with_a_zero_border():
    bunch = sklearn_datasets.load_digits()
    big = upsample_digits(bunch.images[:50])[..., 0]
    assert not big[:, :2].any() and not big[:, -2:].any() and not big[:, :, :2].any() and not big[:, :, -2:].any()
    # Half-pixel centres at scale 3: the middle of each 3x3 block is the original pixel.
    np.testing.assert_allclose(big[:, 3:26:3, 3:26:3], bunch.images[:50] / 16, atol=1e-7)
    np.testing.assert_array_equal(upsample_digits(bunch.data[:50]), upsample_digits(bunch.images[:50]))
    np.testing.assert_array_equal(upsample_digits(bunch.images[7]), upsample_digits(bunch.images[7:8])[0])
    image = pytest.importorskip("PIL.Image")  # an independent bilinear resize
    for digit, ours in zip(bunch.images[:50], big):
        pil = image.fromarray((digit / 16).astype(np.float32), mode="F").resize((24, 24), image.BILINEAR)
        np.testing.assert_allclose(ours[2:-2, 2:-2], np.asarray(pil), atol=1e-6)


@pytest.mark.parametrize("bad,match", [
    (np.zeros((3, 8, 7)), r"`images` must have shape .* got shape \(3, 8, 7\)"),
    (np.zeros(64), r"got shape \(64,\)"),
    (np.full((1, 8, 8), 17.0), r"`images` must hold sklearn digit values 0..16, got values from 17.0 to 17.0"),
    (np.full((1, 8, 8), -1.0), r"got values from -1.0"),
])
def test_upsampling_refuses_what_is_not_a_digit(bad, match):
    with pytest.raises(ValueError, match=match):
        upsample_digits(bad)


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install scikit-learn"):
        tsp.datasets.digits()


# ------------------------------------------------------------------------------------------ the models


def test_trained_model_classifies_the_held_out_digits(data):
    images, labels = data
    model = tsp.datasets.digits_model()
    assert model.layers[0].output_shape == (28, 28, 1) and model.outputs[0].output_shape == (10,)
    ours = _heldout_predictions(model, images)
    assert len(ours) == 297
    accuracy = np.mean(ours == labels[DIGITS_TRAIN_SAMPLES:])
    assert accuracy >= 0.95, accuracy
    # Keras's own class for each held-out digit: at most one may flip on a near tie.
    assert np.sum(ours != REFERENCE["heldout_predictions"]) <= 1
    assert abs(accuracy - float(REFERENCE["heldout_accuracy"])) <= 1 / 297 + 1e-12


def test_every_layer_matches_keras(data):
    model = tsp.datasets.digits_model()
    index, x = REFERENCE["index"], REFERENCE["x"]
    assert np.all(index >= DIGITS_TRAIN_SAMPLES)  # held-out images only
    np.testing.assert_array_equal(x, data[0][index])  # the runtime upsampling is what Keras was given
    stored = {key[len("layer/"):] for key in REFERENCE.files if key.startswith("layer/")}
    names = [layer.name for layer in model.layers]
    assert stored == set(names) == set(json.loads(str(REFERENCE["meta"]))["layers"])
    compared = set()
    for i, image in enumerate(x):  # neural_value holds the first sample only: one at a time
        model.predict(image)
        for layer in model.layers:
            want = REFERENCE[f"layer/{layer.name}"][i]
            np.testing.assert_allclose(layer.neural_value, want, rtol=1e-4,
                                       atol=1e-4 * max(1.0, float(np.abs(want).max())),
                                       err_msg=f"sample {index[i]}, layer {layer.name}")
            compared.add(layer.name)
    assert compared == set(names)
    assert {"DepthwiseConv2d", "Conv2d", "BatchNorm", "Dense"} <= {layer.layer_type for layer in model.layers}
    depthwise = [layer for layer in model.layers if layer.layer_type == "DepthwiseConv2d"]
    assert any(layer.depth_multiplier == 2 for layer in depthwise)
    assert any(layer.strides == (2, 2) for layer in depthwise)


def test_checkpoints_come_in_epoch_order_with_one_architecture(data, checkpoints):
    images, labels = data
    assert len(checkpoints) == len(DIGITS_EPOCHS) == len(set(DIGITS_EPOCHS))
    assert list(DIGITS_EPOCHS) == sorted(DIGITS_EPOCHS) == list(REFERENCE["checkpoint_epochs"])
    assert DIGITS_EPOCHS[0] == 0 and {1, 2, 5, 10} <= set(DIGITS_EPOCHS)
    assert all(model is not other for model, other in zip(checkpoints, checkpoints[1:]))
    for model in checkpoints[1:]:
        assert _architecture(model) == _architecture(checkpoints[0])
    weights = [_weights(model) for model in checkpoints]
    for a in range(len(weights)):
        for b in range(a + 1, len(weights)):
            assert any(not np.array_equal(weights[a][k], weights[b][k]) for k in weights[a]), (a, b)
    final = _weights(tsp.datasets.digits_model())
    assert all(np.array_equal(final[k], weights[-1][k]) for k in final)
    # Each checkpoint's held-out accuracy is the one Keras measured for that epoch (so the order is right).
    accuracy = np.array([np.mean(_heldout_predictions(model, images) == labels[DIGITS_TRAIN_SAMPLES:])
                         for model in checkpoints])
    np.testing.assert_allclose(accuracy, REFERENCE["checkpoint_accuracy"], atol=1 / 297 + 1e-12)
    assert accuracy[0] < 0.3 and accuracy[-1] >= 0.95 and accuracy[-1] == accuracy.max()


def test_checkpoints_are_fresh_models(checkpoints):
    again = tsp.datasets.digits_checkpoints()
    for old, new in zip(checkpoints, again):  # nothing shared: a view of one never touches another
        assert old is not new
        assert not any(a is b for a, b in zip(old.layers, new.layers))
    assert tsp.datasets.digits_model() is not tsp.datasets.digits_model()
