"""Your own input: ``view.predict(image)`` (resized / greyed with a warning) and ``DrawingPad``.

The browser half of the pad (js/drawing_pad.js) sends one stroke as ONE binary buffer in a custom
message; ``stroke`` below plays that part. Results are checked against an independent model
(a fresh ``digits_model()``) and independent image code (PIL).
"""

import base64
import warnings

import numpy as np
import pytest
from PIL import Image

import tspwidget as tsp
from tspwidget.drawing import DrawingPad, prepare_image, resize
from tspwidget.export import to_html

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def digits():
    return tsp.datasets.digits()


@pytest.fixture
def view():
    return tsp.datasets.digits_model().show()


def stroke(pad, pixels, number):
    """What the browser sends at a stroke end: one custom message, one buffer of rows*cols bytes."""
    pad._handle_custom_msg({"event": "stroke", "stroke": number, "rows": pad.rows, "cols": pad.cols},
                           [memoryview(np.ascontiguousarray(pixels, np.uint8).tobytes())])


def a_seven():
    img = np.zeros((28, 28), np.uint8)
    img[6:8, 8:21] = 255
    for r in range(8, 23):
        c = int(round(20 - (r - 8) * 8 / 15))
        img[r, c - 1:c + 1] = 255
    return img


# ---------------------------------------------------------------------- prepare_image
def test_an_image_of_the_right_shape_is_used_as_is_and_never_modified(digits):
    images, _ = digits
    x = images[1500].copy()
    x.flags.writeable = False
    out, notes = prepare_image(x, (28, 28, 1))
    assert notes == [] and out.dtype == np.float32 and out.shape == (28, 28, 1)
    np.testing.assert_array_equal(out, images[1500])
    assert not np.shares_memory(out, x)
    grey, notes = prepare_image(x[..., 0], (28, 28, 1))  # (h, w) is fine too
    assert notes == [] and np.array_equal(grey, images[1500])
    u8, _ = prepare_image(np.full((28, 28), 51, np.uint8), (28, 28, 1))
    np.testing.assert_allclose(u8, 0.2, atol=1e-7)  # uint8 0..255 scaled to 0..1


@pytest.mark.parametrize("size_in", [(280, 280), (50, 37), (29, 100), (13, 40)])
def test_shrinking_is_the_exact_area_average(size_in):
    """Independent: repeat every pixel to a grid both sizes divide, then average blocks."""
    img = RNG.random((*size_in, 2))
    out = (28, 28)
    ours = resize(img, *out)
    fine = img
    for axis, (n_in, n_out) in enumerate(zip(size_in, out)):
        lcm = np.lcm(n_in, n_out)
        if n_out < n_in:
            fine = np.repeat(fine, lcm // n_in, axis=axis)
            shape = list(fine.shape)
            shape[axis:axis + 1] = [n_out, lcm // n_out]
            fine = fine.reshape(shape).mean(axis=axis + 1)
    shrunk = [n_out < n_in for n_in, n_out in zip(size_in, out)]
    if all(shrunk):
        np.testing.assert_allclose(ours, fine, atol=1e-12)
    else:  # (13, 40): rows grow, columns shrink; compare the shrinking axis alone
        np.testing.assert_allclose(resize(img, 13, 28), fine, atol=1e-12)


@pytest.mark.parametrize("size_in, size_out", [((8, 8), (28, 28)), ((13, 40), (28, 40)), ((5, 9), (23, 31))])
def test_enlarging_matches_pil_bilinear(size_in, size_out):
    img = RNG.random(size_in).astype(np.float32)
    pil = np.asarray(Image.fromarray(img, "F").resize(size_out[::-1], Image.BILINEAR))
    np.testing.assert_allclose(resize(img[..., None], *size_out)[..., 0], pil, atol=2e-6)


def test_block_average_when_shrinking_by_a_whole_factor():
    img = RNG.random((280, 280, 1))
    np.testing.assert_allclose(resize(img, 28, 28), img.reshape(28, 10, 28, 10, 1).mean(axis=(1, 3)),
                               atol=1e-12)
    pil = np.asarray(Image.fromarray(img[..., 0].astype(np.float32), "F").resize((28, 28), Image.BOX))
    np.testing.assert_allclose(resize(img, 28, 28)[..., 0], pil, atol=1e-6)


def test_rgb_is_greyed_and_grey_repeated_with_notes():
    rgb = RNG.integers(0, 256, (28, 28, 3)).astype(np.uint8)
    grey, notes = prepare_image(rgb, (28, 28, 1))
    pil = np.asarray(Image.fromarray(rgb, "RGB").convert("L"), np.float64) / 255
    np.testing.assert_allclose(grey[..., 0], pil, atol=1 / 255 + 1e-6)  # PIL rounds to bytes
    assert notes == ["greyed the RGB image (0.299 R + 0.587 G + 0.114 B)"]
    tripled, notes = prepare_image(grey, (28, 28, 3))
    assert notes == ["repeated the grey image to 3 channels"]
    np.testing.assert_array_equal(tripled, np.repeat(grey, 3, axis=2))
    _, notes = prepare_image(np.zeros((20, 40)), (28, 28, 1))
    assert notes == ["resized 20x40 to the model's 28x28 (rows bilinear, columns area average), "
                     "which changes its aspect ratio from 2 to 1"]
    _, notes = prepare_image(np.zeros((28, 56)), (28, 28, 1))
    assert notes == ["resized 28x56 to the model's 28x28 (area average), which changes its aspect "
                     "ratio from 2 to 1"]


@pytest.mark.parametrize("bad, match", [
    (np.array([["a", "b"]]), r"`image` must be an array of numbers.*dtype <U1"),
    (np.zeros((4, 4), complex), r"`image` must be an array of numbers.*complex128"),
    (np.zeros((4, 4), object), r"`image` must be an array of numbers.*object"),
    (np.zeros(28), r"`image` must have shape \(h, w\), \(h, w, 1\) or \(h, w, 3\), got shape \(28,\)"),
    (np.zeros((2, 28, 28, 1)), r"got shape \(2, 28, 28, 1\) \(a batch\?"),
    (np.zeros((28, 28, 2)), r"got shape \(28, 28, 2\)"),
    (np.zeros((28, 28, 4)), r"`image` has 4 channels \(RGBA\?\)"),
    (np.zeros((0, 28)), r"`image` is empty"),
    (np.full((28, 28), np.nan), r"`image` contains NaN"),
])
def test_wrong_images_say_what_is_allowed(view, bad, match):
    with pytest.raises(ValueError, match=match):
        view.predict(bad)


# ---------------------------------------------------------------------- view.predict
def test_view_predict_updates_the_textures_in_place(view, digits):
    images, labels = digits
    meshes = {n: (lm.mesh, lm.texture) for n, lm in view.scene.layers.items()}
    before = view.scene.layers["dw_filters"].texture.data.copy()
    out = view.predict(images[1500])
    ref = tsp.datasets.digits_model()
    np.testing.assert_allclose(out, ref.predict(images[1500]), rtol=1e-5, atol=1e-6)
    assert out.argmax() == labels[1500]
    np.testing.assert_allclose(view.model.get_layer("dw_filters").neural_value,
                               ref.get_layer("dw_filters").neural_value, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(view.scene.layers["dw_filters"].texture.data, before)
    np.testing.assert_array_equal(view.scene.layers["dw_filters"].texture.data,
                                  ref.show().scene.layers["dw_filters"].texture.data)
    assert all(meshes[n] == (lm.mesh, lm.texture) for n, lm in view.scene.layers.items())  # no rebuild


def test_view_predict_resizes_and_greys_with_a_warning_never_a_wrong_picture(view, digits):
    images, _ = digits
    big = np.repeat(np.repeat(images[1500, ..., 0], 3, axis=0), 3, axis=1)  # 84x84, each pixel 3x3
    rgb = np.stack([big, big, big], axis=-1)
    keep = rgb.copy()
    with pytest.warns(UserWarning, match=r"`image` of shape \(84, 84, 3\): greyed the RGB image .*; "
                                         r"resized 84x84 to the model's 28x28 \(area average\)\."):
        out = view.predict(rgb)
    np.testing.assert_array_equal(rgb, keep)  # the user's array is untouched
    np.testing.assert_allclose(view.model.inputs[0].neural_value, images[1500], atol=1e-6)
    np.testing.assert_allclose(out, tsp.datasets.digits_model().predict(images[1500]), atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        view.predict(images[1501])  # the model's own shape: no warning


# ---------------------------------------------------------------------- the pad
def test_a_stroke_predicts_and_updates_view_and_chart_with_bounded_messages(view, sent):
    pad = view.drawing_pad()
    assert pad.probabilities == [] and pad.image.shape == (28, 28) and not pad.image.any()
    objects = {n: (lm.mesh, lm.texture) for n, lm in view.scene.layers.items()}
    before = {n: lm.texture.data.copy() for n, lm in view.scene.layers.items()}
    seven = a_seven()
    sent.clear()
    stroke(pad, seven, 1)
    # Independent: a fresh model on the same bytes.
    ref = tsp.datasets.digits_model()
    expected = ref.predict(seven[..., None].astype(np.float32) / 255)
    assert expected.argmax() == 7
    np.testing.assert_allclose(pad.probabilities, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(view.model.get_layer("dw_mult2").neural_value,
                               ref.get_layer("dw_mult2").neural_value, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(pad.image, seven)
    assert pad.stroke == 1 and pad.caption.startswith("The model says 7 (")
    # Messages: one pad state message, at most one texture message (one buffer) per drawn layer.
    drawn = len(view.scene.layers)
    textures = {lm.texture.model_id for lm in view.scene.layers.values()}
    updates = [m for m in sent if m[0] == "comm_msg"]
    pad_msgs = [m for m in updates if "probabilities" in m[1].get("state", {})]
    tex_msgs = [m for m in updates if m[1].get("buffer_paths") == [["data", "buffer"]]]
    redraw = [m for m in updates if m[1].get("state", {}).keys() == {"redraw"}]
    assert len(pad_msgs) == 1 and len(redraw) == 1 and len(updates) <= drawn + 2
    assert len(tex_msgs) <= drawn and all(len(m[2]) == 1 for m in tex_msgs)
    assert len(updates) == len(pad_msgs) + len(tex_msgs) + len(redraw)  # nothing else is sent
    assert sum(len(m[2]) for m in updates) <= drawn + 1  # pixels + one atlas per changed layer
    assert pad_msgs[0][1]["buffer_paths"] == [["pixels"]] and len(pad_msgs[0][2]) == 1  # bytes, no list
    assert bytes(pad_msgs[0][2][0]) == seven.tobytes()
    assert sum(memoryview(m[2][0]).nbytes for m in tex_msgs) == sum(
        lm.texture.data.nbytes for lm in view.scene.layers.values()
        if lm.texture.model_id in textures and not np.array_equal(lm.texture.data, before[lm.layer.name]))
    changed = [n for n, lm in view.scene.layers.items() if not np.array_equal(lm.texture.data, before[n])]
    assert {"digit", "dw_filters", "dw_mult2", "predictions"} <= set(changed)
    assert all(objects[n] == (lm.mesh, lm.texture) for n, lm in view.scene.layers.items())
    assert len(pad.timings) == 1 and pad.timings[0][0] == 1


def test_the_pad_follows_predictions_from_python_and_clears(view, digits):
    images, labels = digits
    pad = tsp.DrawingPad(view, labels=[f"digit {i}" for i in range(10)])
    other = tsp.DrawingPad(view.model)  # a pad on the model alone follows it too
    view.predict(images[1500])
    expected = np.rint(images[1500, ..., 0] * 255).astype(np.uint8)
    for p in (pad, other):
        np.testing.assert_allclose(p.image, expected, atol=1)  # to the byte (rounding of x.5)
        assert int(np.argmax(p.probabilities)) == labels[1500]
    assert pad.caption.startswith(f"The model says digit {labels[1500]} (")
    pad._handle_custom_msg({"event": "clear", "stroke": 4}, [])
    assert pad.probabilities == [] and not pad.image.any() and pad.stroke == 4
    assert not view.model.inputs[0].neural_value.any()  # the views show the blank input


def test_a_stroke_buffer_of_the_wrong_size_is_refused(view):
    pad = view.drawing_pad()
    before = view.model.inputs[0].neural_value
    pad._handle_custom_msg({"event": "stroke", "stroke": 1}, [memoryview(bytes(100))])
    assert pad.caption == ("Could not read the stroke: one buffer of 784 bytes expected, got "
                           "buffers of [100] bytes.")
    assert view.model.inputs[0].neural_value is before  # nothing predicted
    with pytest.raises(ValueError, match=r"`pixels` must be a \(28, 28\) uint8 array"):
        pad.draw(np.zeros((28, 28)))
    pad.draw(a_seven())
    assert int(np.argmax(pad.probabilities)) == 7


def test_pad_arguments_are_checked(small_model):
    digits_model = tsp.datasets.digits_model()
    with pytest.raises(ValueError, match=r"one vector output.*\(12, 12, 4\)"):
        DrawingPad(small_model)
    with pytest.raises(TypeError, match="`target` must be a ModelView or a tspwidget model"):
        DrawingPad("model")
    with pytest.raises(ValueError, match=r"`labels` must be 10 strings"):
        DrawingPad(digits_model, labels=["a", "b"])
    with pytest.raises(ValueError, match="`size`"):
        DrawingPad(digits_model, size=10)
    with pytest.raises(ValueError, match="`brush`"):
        DrawingPad(digits_model, brush=0)


def test_rgb_models_get_the_drawing_in_every_channel():
    model = tsp.Sequential([tsp.layers.RGBInput(shape=(10, 12, 3)), tsp.layers.Flatten(),
                            tsp.layers.Dense(4, activation="softmax")]).init(seed=1)
    pad = DrawingPad(model)
    assert (pad.rows, pad.cols) == (10, 12)
    img = RNG.integers(0, 256, (10, 12)).astype(np.uint8)
    pad.draw(img)
    x = np.repeat(img[..., None].astype(np.float32) / 255, 3, axis=2)
    np.testing.assert_array_equal(model.inputs[0].neural_value, x)
    np.testing.assert_allclose(pad.probabilities, model.predict(x), rtol=1e-6)


def test_the_export_keeps_a_static_snapshot_of_the_drawn_input(view):
    pad = view.drawing_pad()
    blank = view.scene.layers["dw_filters"].texture.data.tobytes()
    pad.draw(a_seven())
    page = to_html(view)
    drawn = view.scene.layers["dw_filters"].texture.data.tobytes()
    assert base64.b64encode(drawn).decode() in page
    assert base64.b64encode(blank).decode() not in page
    assert pad.model_id not in page  # the pad needs a kernel: it is not part of the export


def test_new_maps_ask_the_browser_for_one_frame_and_unchanged_ones_send_nothing(view, digits, sent):
    """pythreejs does not redraw for a texture inside a material's uniforms: the view bumps its
    controller's ``redraw`` (one small message) when any atlas changed."""
    images, _ = digits
    view.predict(images[1500])
    sent.clear()
    view.predict(images[1501])
    nudges = [m for m in sent if m[1].get("state", {}).keys() == {"redraw"}]
    assert len(nudges) == 1 and not nudges[0][2]
    sent.clear()
    view.predict(images[1501])  # the same picture again: same atlases
    assert sent == []


def test_the_shipped_front_end_is_the_source_built_by_js_build():
    import hashlib
    import json
    from pathlib import Path

    import tspwidget.drawing as drawing

    root = Path(__file__).resolve().parents[1]
    source = (root / "js" / "drawing_pad.js").read_bytes()
    assert drawing.ESM.read_bytes() == source, "run: cd js && python build.py"
    versions = json.loads((drawing.ESM.parent / "VERSIONS.json").read_text())
    assert versions["drawing_pad.js"] == {"sha256": hashlib.sha256(source).hexdigest(), "bytes": len(source)}
