"""``view.timeline(checkpoints)``: the epoch slider swaps weights and the maps change in place.

Every swap is checked against an independent computation: the checkpoint model itself predicting
the same input, and a fresh view of it for the expected texture bytes.
"""

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.datasets import DIGITS_EPOCHS


@pytest.fixture(scope="module")
def digits():
    return tsp.datasets.digits()


@pytest.fixture(scope="module")
def checkpoints():
    return tsp.datasets.digits_checkpoints()


@pytest.fixture
def view():
    return tsp.datasets.digits_model().show()


def test_the_slider_starts_at_the_models_epoch_and_swaps_in_place(view, digits, checkpoints, sent):
    images, labels = digits
    x = images[1510]
    view.predict(x)
    timeline = view.timeline(checkpoints, epochs=DIGITS_EPOCHS)
    assert timeline.epoch == 40 and timeline.slider.label == "40"  # the model is the final one
    assert [label for label, _ in timeline.slider.options] == ["0", "1", "2", "5", "10", "40"]
    objects = {n: (lm.mesh, lm.texture, lm.mesh.material) for n, lm in view.scene.layers.items()}
    group = view.scene.group.children
    before = view.scene.layers["dw_filters"].texture.data.copy()
    for epoch, ckpt in zip(DIGITS_EPOCHS, checkpoints):
        sent.clear()
        timeline.slider.value = DIGITS_EPOCHS.index(epoch)  # as a drag does (values are indices)
        assert timeline.epoch == epoch
        # Independent: the checkpoint model on the same input, unfused as a view predicts (a fused
        # product sums in another order: a texel at a rounding edge could differ by one level).
        expected = ckpt.predict(x, fuse=False)
        np.testing.assert_allclose(view.model.outputs[0].neural_value, expected, rtol=1e-5, atol=1e-7)
        for name in ("dw_filters", "dw_mult2", "dw_stride2"):
            np.testing.assert_allclose(view.model.get_layer(name).neural_value,
                                       ckpt.get_layer(name).neural_value, rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(view.model.get_layer(name).get_weights()["kernel"],
                                          ckpt.get_layer(name).get_weights()["kernel"])
        # No rebuild: the very same objects, only atlases re-sent (at most one per drawn layer).
        assert all(objects[n] == (lm.mesh, lm.texture, lm.mesh.material) for n, lm in view.scene.layers.items())
        assert view.scene.group.children == group
        scene_msgs = [m for m in sent if m[0] == "comm_msg" and m[2]]
        assert len(scene_msgs) <= len(view.scene.layers)
        assert all(len(m[2]) == 1 for m in scene_msgs)
        assert not [m for m in sent if m[0] in ("comm_open", "comm_close")]
        fresh = ckpt.show()
        for name, lm in view.scene.layers.items():
            np.testing.assert_array_equal(lm.texture.data, fresh.scene.layers[name].texture.data,
                                          err_msg=f"{name} at epoch {epoch}")
        fresh.close()
        assert f"epoch <b>{epoch}</b>" in timeline.caption.value
        assert f"the model says {int(np.argmax(expected))} (" in timeline.caption.value
    timeline.epoch = 0
    assert not np.array_equal(view.scene.layers["dw_filters"].texture.data, before)  # maps changed
    timeline.epoch = 40
    np.testing.assert_array_equal(view.scene.layers["dw_filters"].texture.data, before)  # and back
    assert int(np.argmax(view.model.outputs[0].neural_value)) == labels[1510]


def test_a_pad_and_the_chart_follow_the_slider(view, digits, checkpoints):
    images, _ = digits
    pad = view.drawing_pad()
    view.predict(images[1600])
    timeline = view.timeline(checkpoints, epochs=DIGITS_EPOCHS)
    timeline.epoch = 1
    np.testing.assert_allclose(pad.probabilities, checkpoints[1].predict(images[1600]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(pad.image, np.rint(images[1600, ..., 0] * 255), atol=1)  # same input


def test_a_model_at_no_checkpoint_moves_to_the_last_and_no_input_means_no_predict(checkpoints):
    model = tsp.datasets.digits_model()
    view = model.show()  # never predicted: no input yet
    timeline = view.timeline(checkpoints[:3], epochs=DIGITS_EPOCHS[:3])
    assert timeline.epoch == 2  # the model's own weights are none of these: the last one applied
    np.testing.assert_array_equal(model.get_layer("predictions").get_weights()["kernel"],
                                  checkpoints[2].get_layer("predictions").get_weights()["kernel"])
    assert model.inputs[0].neural_value is None and "no input yet" in timeline.caption.value
    timeline.epoch = 0
    np.testing.assert_array_equal(model.get_layer("dw_filters").get_weights()["kernel"],
                                  checkpoints[0].get_layer("dw_filters").get_weights()["kernel"])


def test_weight_dicts_work_and_are_copied(view, digits, checkpoints):
    images, _ = digits
    weights = [c.get_weights() for c in checkpoints]
    dicts = [{n: {r: np.array(a) for r, a in w.items()} for n, w in ws.items()} for ws in weights]
    view.predict(images[1500])
    timeline = view.timeline(dicts)  # default labels 0, 1, ...
    assert timeline.epochs == (0, 1, 2, 3, 4, 5) and timeline.epoch == 5
    dicts[0]["dw_filters"]["kernel"][:] = 99  # changing the caller's arrays afterwards: no effect
    timeline.epoch = 0
    np.testing.assert_array_equal(view.model.get_layer("dw_filters").get_weights()["kernel"],
                                  checkpoints[0].get_layer("dw_filters").get_weights()["kernel"])
    np.testing.assert_allclose(view.model.outputs[0].neural_value, checkpoints[0].predict(images[1500]),
                               rtol=1e-5, atol=1e-7)


def test_checkpoints_of_another_architecture_are_refused_clearly(view, small_model, checkpoints):
    with pytest.raises(ValueError, match=r"`checkpoints\[1\]` is not the same architecture as 'digits': "
                                         r"layers missing there \[.*'dw_filters'.*\], "
                                         r"extra there \['dw', 'image', 'pw'\]"):
        view.timeline([checkpoints[0], small_model])
    weights = checkpoints[0].get_weights()
    bad = {**weights, "dw_filters": {"kernel": np.zeros((3, 3, 1, 8)), "bias": np.zeros(8)}}
    with pytest.raises(ValueError, match=r"`checkpoints\[0\]`: layer 'dw_filters' `kernel` has shape "
                                         r"\(3, 3, 1, 8\), 'digits' needs \(3, 3, 1, 16\)"):
        view.timeline([bad])
    missing = {k: v for k, v in weights.items() if k != "pw1"}
    with pytest.raises(ValueError, match=r"`checkpoints\[0\]` has weights for layers .*; 'digits' needs exactly"):
        view.timeline([missing])
    roles = {**weights, "bn1": {"gamma": weights["bn1"]["gamma"]}}
    with pytest.raises(ValueError, match=r"layer 'bn1' has weights \['gamma'\], 'digits' needs \['beta', 'gamma', "):
        view.timeline([roles])
    with pytest.raises(ValueError, match=r"`epochs` must label each of the 2 checkpoints, got 3"):
        view.timeline(checkpoints[:2], epochs=[0, 1, 2])
    with pytest.raises(ValueError, match="`checkpoints` is empty"):
        view.timeline([])
    with pytest.raises(TypeError, match=r"`checkpoints\[0\]` must be a tspwidget model or a get_weights\(\) dict"):
        view.timeline(["digits.keras"])
    with pytest.raises(TypeError, match="`checkpoints` must be a list"):
        view.timeline(checkpoints[0])
    for not_a_view in (view.model, "view", None):  # a model is not its view
        with pytest.raises(TypeError, match="`view` must be a ModelView"):
            tsp.Timeline(not_a_view, checkpoints)
    timeline = view.timeline(checkpoints, epochs=DIGITS_EPOCHS)
    with pytest.raises(ValueError, match=r"`epoch` must be one of \[0, 1, 2, 5, 10, 40\], got 3"):
        timeline.epoch = 3
