"""view.quiz: the layer's maps hidden, three different candidates (one true), answer and reveal."""

import io

import numpy as np
import pytest
from PIL import Image

import tspwidget as tsp
from tspwidget import quiz as qz
from tspwidget.core import textures


@pytest.fixture
def view():
    model = tsp.datasets.digits_model()
    images, _ = tsp.datasets.digits()
    model.predict(images[3])
    return model.show(width=800, height=500)


def map_codes(view, name):
    lm = view.scene.layers[name]
    return lm.texture.data[:lm.atlas_layout.palette_row]


def test_png_bytes_is_a_png_of_the_picture():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(qz.png_bytes(rgb))).convert("RGB"))
    np.testing.assert_array_equal(decoded, rgb)


def test_quiz_hides_the_maps_and_offers_the_true_one_among_two_others(view):
    before = map_codes(view, "dw_mult2").copy()
    layer = view.model.get_layer("dw_mult2")
    layer.open_layer()
    quiz = view.quiz("dw_mult2", channel=5, seed=1)
    assert layer.status == "close"
    assert (np.unique(map_codes(view, "dw_mult2")) == [textures.PLACEHOLDER_CODE]).all()
    assert sorted(quiz.candidates) == sorted(set(quiz.candidates)) and quiz.candidates[quiz.correct] == 5
    assert "map 5 of <b>dw_mult2</b>" in quiz.prompt.value and "digit" not in quiz.prompt.value
    assert f"dw_filters channel {layer.source_channel(5)}" in quiz.prompt.value
    values = layer.neural_value
    for k, image in zip(quiz.candidates, quiz.images):  # each picture is that map, as the view colours it
        picture = np.asarray(Image.open(io.BytesIO(image.value)).convert("RGB"))
        step = picture.shape[0] // values.shape[0]
        norm = textures.normalize(values[..., k:k + 1], "map")[..., 0]
        expected = textures.shade(norm, textures.hex_to_rgb(layer.color))[..., :3]
        np.testing.assert_array_equal(picture[::step, ::step], expected)
    # A new input while the quiz runs keeps the maps hidden.
    view.model.predict(tsp.datasets.digits()[0][7])
    assert (np.unique(map_codes(view, "dw_mult2")) == [textures.PLACEHOLDER_CODE]).all()
    assert quiz.answer(quiz.correct) is True
    assert layer.status == "open" and "Right!" in quiz.result.value
    assert all(b.disabled for b in quiz.buttons)
    assert not (map_codes(view, "dw_mult2") == textures.PLACEHOLDER_CODE).all()
    assert not np.array_equal(map_codes(view, "dw_mult2"), before)  # the new input's maps, revealed


def test_a_wrong_answer_says_which_was_right(view):
    quiz = view.quiz("pw1", seed=3)
    wrong = (quiz.correct + 1) % 3
    quiz.buttons[wrong].click()
    assert quiz.choice == wrong
    assert f"it was {'ABC'[quiz.correct]}" in quiz.result.value
    assert quiz.buttons[wrong].button_style == "danger" and quiz.buttons[quiz.correct].button_style == "success"
    with pytest.raises(ValueError, match="already answered"):
        quiz.answer(quiz.correct)


def test_the_same_seed_gives_the_same_quiz(view):
    a, b = view.quiz("dw_mult2", seed=7), view.quiz("dw_mult2", seed=7)
    assert (a.channel, a.candidates) == (b.channel, b.candidates)


def test_bad_requests_are_refused_by_name(view):
    with pytest.raises(ValueError, match="`layer` 'nope'"):
        view.quiz("nope")
    with pytest.raises(ValueError, match="outputs a vector"):
        view.quiz("predictions")
    with pytest.raises(ValueError, match=r"`channel` must be a map index 0\.\.31"):
        view.quiz("dw_mult2", channel=32)
    quiz = view.quiz("dw_mult2", seed=0)
    for bad in (3, -1, True, "A"):
        with pytest.raises(ValueError, match="`i` must be 0, 1 or 2"):
            quiz.answer(bad)


def test_a_layer_without_values_or_distinct_maps_is_refused():
    from tspwidget.layers import Conv2d, GreyscaleInput

    model = tsp.Sequential([GreyscaleInput(shape=(6, 6)), Conv2d(2, 3, name="c")]).init(seed=0)
    view = model.show()
    with pytest.raises(ValueError, match="no values yet"):
        view.quiz("c")
    model.predict(np.random.default_rng(0).random((6, 6, 1)))
    with pytest.raises(ValueError, match="fewer than two other maps"):
        view.quiz("c")
