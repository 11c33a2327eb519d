"""Sequential and functional models: topology, init, predict, summary, inheritance, errors."""

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.layers import Conv2d, DepthwiseConv2d, Input3d, NotInitializedError, Pooling2d, RGBInput

from . import reference


def small_model(**model_options):
    return tsp.Sequential(
        [
            RGBInput(shape=(10, 9, 3), name="image"),
            DepthwiseConv2d(kernel_size=3, depth_multiplier=2, padding="same", activation="relu6",
                            name="dw"),
            Conv2d(filters=4, kernel_size=1, activation="relu", name="pw"),
            Pooling2d(2, name="pool"),
        ],
        **model_options,
    )


def test_predict_is_the_composition_of_the_reference_ops():
    model = small_model().init(seed=3)
    x = np.random.default_rng(0).random((2, 10, 9, 3)).astype(np.float32)
    y = model.predict(x)
    dw, pw = model.get_layer("dw"), model.get_layer("pw")
    expected = []
    for sample in x:
        a = np.clip(reference.depthwise(sample, dw.kernel, dw.bias, padding="same"), 0, 6)
        b = np.maximum(reference.conv(a, pw.kernel, pw.bias), 0)
        expected.append(reference.pool(b, (2, 2), (2, 2), "valid", "max"))
    np.testing.assert_allclose(y, np.stack(expected), rtol=1e-5, atol=1e-5)
    assert y.shape == (2, 5, 4, 4) and y.dtype == np.float32


def test_neural_value_is_first_sample_of_each_layer():
    model = small_model().init(seed=0)
    x = np.random.default_rng(1).random((3, 10, 9, 3))
    single = model.predict(x[0])
    assert single.shape == (5, 4, 4)
    for layer in model.layers:
        assert layer.neural_value.shape == layer.output_shape
    first = {layer.name: layer.neural_value.copy() for layer in model.layers}
    model.predict(x)
    for layer in model.layers:
        np.testing.assert_allclose(layer.neural_value, first[layer.name], rtol=1e-6)
    np.testing.assert_allclose(model.get_layer("image").neural_value, x[0].astype(np.float32))


def test_predict_never_touches_the_input_and_keeps_no_alias():
    model = small_model().init(seed=0)
    x = np.random.default_rng(1).random((10, 9, 3)).astype(np.float32)
    before = x.copy()
    model.predict(x)
    np.testing.assert_array_equal(x, before)
    x[:] = 0
    assert model.get_layer("image").neural_value.any()


@pytest.mark.parametrize(
    "x,match",
    [
        (np.zeros((10, 9)), r"\(10, 9, 3\) or \(N, 10, 9, 3\), got shape \(10, 9\)"),
        (np.zeros((9, 10, 3)), r"got shape \(9, 10, 3\)"),
        (np.zeros((1, 1, 10, 9, 3)), r"got shape \(1, 1, 10, 9, 3\)"),
        (np.zeros((0, 10, 9, 3)), r"got shape \(0, 10, 9, 3\)"),
    ],
)
def test_predict_bad_shapes(x, match):
    with pytest.raises(ValueError, match=match):
        small_model().init().predict(x)


def test_predict_bad_dtype_and_before_init():
    with pytest.raises(TypeError, match="`x`.*dtype <U1"):
        small_model().init().predict(np.full((10, 9, 3), "a"))
    with pytest.raises(NotInitializedError, match=r"call model.init\(\) before predict\(\)"):
        small_model().predict(np.zeros((10, 9, 3)))


def test_nan_and_inf_propagate_without_crash():
    model = small_model().init(seed=0)
    x = np.random.default_rng(1).random((10, 9, 3)).astype(np.float32)
    x[4, 4, 0], x[1, 1, 1] = np.nan, np.inf
    with np.errstate(invalid="ignore"):
        y = model.predict(x)
    assert y.shape == (5, 4, 4)
    assert np.isnan(model.get_layer("dw").neural_value).any()


def test_summary_lists_name_type_shape_params(capsys):
    model = small_model()
    model.summary()
    assert "? (call init())" in capsys.readouterr().out
    model.init()
    model.summary()
    out = capsys.readouterr().out
    assert "dw  " in out and "DepthwiseConv2d" in out and "(10, 9, 6)" in out
    assert "3x3 s1 same x2" in out
    assert f"Total params: {3 * 3 * 3 * 2 + 6 + 6 * 4 + 4:,}" in out


def test_layers_inherit_model_colour_and_anime_time_unless_set():
    model = small_model(color={"Conv2d": "red"}, anime_time=500)
    dw, pw = model.get_layer("dw"), model.get_layer("pw")
    assert pw.color == "#FF0000" and dw.color == "#FBBF1F"
    assert dw.anime_time == 500
    dw.anime_time = 4000
    assert dw.anime_time == 4000 and model.anime_time == 500
    seen = []
    dw.add_observer(lambda layer, attr, old, new: seen.append((attr, new)))
    model.color = "#00ff00"
    assert dw.color == "#00FF00" and seen == [("color", "#00FF00")]
    with pytest.raises(ValueError, match="`color` keys must be layer types"):
        tsp.Sequential(color={"Depthwise": "red"})
    with pytest.raises(ValueError, match="`anime_time`.*-1"):
        tsp.Sequential(anime_time=-1)


def test_get_layer_and_duplicate_names():
    model = small_model()
    assert model.get_layer("pw").layer_type == "Conv2d"
    with pytest.raises(ValueError, match="no layer named 'nope'.*'dw'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="two layers are named 'x'"):
        tsp.Sequential([RGBInput(shape=(4, 4), name="x"), DepthwiseConv2d(1, name="x")])


def test_sequential_rules():
    with pytest.raises(ValueError, match="first layer of a Sequential must be an input"):
        tsp.Sequential([DepthwiseConv2d(3)])
    with pytest.raises(ValueError, match="has one input"):
        tsp.Sequential([RGBInput(shape=(4, 4)), RGBInput(shape=(4, 4))])
    layer = DepthwiseConv2d(1)
    tsp.Sequential([RGBInput(shape=(4, 4)), layer])
    with pytest.raises(ValueError, match="already belongs to model"):
        tsp.Sequential([RGBInput(shape=(4, 4)), layer])
    with pytest.raises(ValueError, match="model 'm' has no layers"):
        tsp.Sequential(name="m").init()
    with pytest.raises(TypeError, match="`seed`"):
        small_model().init(seed=1.5)


def test_adding_a_layer_after_init_asks_for_init_again():
    model = small_model().init()
    model.add(Conv2d(2, 1))
    assert not model.is_initialized
    with pytest.raises(NotInitializedError):
        _ = model.layers[1].output_shape
    assert model.init().layers[-1].output_shape == (5, 4, 2)


def test_failed_init_leaves_nothing_half_built():
    model = tsp.Sequential([Input3d(shape=(6, 6, 2)), DepthwiseConv2d(3), DepthwiseConv2d(7)])
    with pytest.raises(ValueError, match="layer 'depthwise_conv2d_.*kernel_size 7"):
        model.init()
    assert not model.is_initialized
    assert not model.layers[1].is_built


def test_functional_model_with_branches():
    inp = RGBInput(shape=(9, 9, 3), name="in")
    dw = DepthwiseConv2d(3, name="dw").apply(inp)
    left = Conv2d(2, 1, name="left").apply(dw)
    right = Pooling2d(3, name="right").apply(dw)
    model = tsp.Model(inputs=inp, outputs=[left, right]).init(seed=0)
    assert [layer.name for layer in model.layers] == ["in", "dw", "left", "right"]
    a, b = model.predict(np.ones((2, 9, 9, 3)))
    assert a.shape == (2, 7, 7, 2) and b.shape == (2, 2, 2, 3)
    assert dw.input_shape == (9, 9, 3)


def test_functional_model_two_inputs_by_list_and_dict():
    a, b = Input3d(shape=(5, 5, 1), name="a"), Input3d(shape=(5, 5, 2), name="b")
    da, db = DepthwiseConv2d(3).apply(a), DepthwiseConv2d(1).apply(b)
    model = tsp.Model(inputs=[a, b], outputs=[da, db]).init()
    ya, yb = model.predict([np.ones((5, 5, 1)), np.ones((5, 5, 2))])
    assert ya.shape == (3, 3, 1) and yb.shape == (5, 5, 2)
    model.predict({"a": np.ones((5, 5, 1)), "b": np.ones((5, 5, 2))})
    with pytest.raises(ValueError, match="has 2 inputs"):
        model.predict(np.ones((5, 5, 1)))
    with pytest.raises(ValueError, match="same batch size"):
        model.predict([np.ones((5, 5, 1)), np.ones((2, 5, 5, 2))])


def test_cycles_are_refused():
    inp = RGBInput(shape=(5, 5))
    a = DepthwiseConv2d(1)
    b = DepthwiseConv2d(1).apply(a)
    with pytest.raises(ValueError, match="would make a cycle"):
        a.apply(b)
    with pytest.raises(ValueError, match="would make a cycle"):
        a.apply(a)
    a.apply(inp)
    with pytest.raises(ValueError, match="already applied"):
        a.apply(RGBInput(shape=(5, 5)))
    with pytest.raises(TypeError, match="apply\\(\\) takes the previous layer"):
        b.apply("a")


def test_functional_model_topology_errors():
    inp, other = RGBInput(shape=(5, 5)), RGBInput(shape=(5, 5))
    dangling = DepthwiseConv2d(1)
    out = DepthwiseConv2d(1).apply(dangling)
    with pytest.raises(ValueError, match="not connected to any of `inputs`"):
        tsp.Model(inputs=inp, outputs=out)
    good = DepthwiseConv2d(1).apply(inp)
    with pytest.raises(ValueError, match="do not lead to any of `outputs`"):
        tsp.Model(inputs=[inp, other], outputs=good)
    with pytest.raises(ValueError, match="`inputs` must be input layers"):
        tsp.Model(inputs=good, outputs=good)
    with pytest.raises(TypeError, match="`outputs` must be a layer"):
        tsp.Model(inputs=inp, outputs="good")


def test_build_works_out_shapes_without_drawing_weights():
    dw = DepthwiseConv2d(3, depth_multiplier=2, name="dw")
    model = tsp.Sequential([Input3d(shape=(5, 5, 2)), dw])
    assert model.build() is model
    assert dw.output_shape == (3, 3, 4) and dw.kernel is None and not model.is_initialized
    with pytest.raises(NotInitializedError, match="init"):
        model.predict(np.ones((5, 5, 2)))
    with pytest.raises(ValueError, match="layer 'big'"):
        tsp.Sequential([Input3d(shape=(2, 2, 1)), DepthwiseConv2d(3, name="big")]).build()


def test_show_imports_the_widget_only_when_called():
    import inspect

    import tspwidget.core.model as core_model
    from tspwidget.widget import ModelView

    assert "view_factory" not in inspect.getsource(core_model)  # no global set from above
    model = tsp.Sequential([Input3d(shape=(4, 4, 1)), DepthwiseConv2d(3)]).init(seed=0)
    view = model.show(width=200, height=150)
    try:
        assert isinstance(view, ModelView) and view.model is model
    finally:
        view.close()


def test_users_models_can_be_shown_and_read_weights_the_cores_cannot():
    from tspwidget.core import model as core

    assert issubclass(tsp.Model, core.Model) and issubclass(tsp.Sequential, core.Sequential)
    for cls in (core.Model, core.Sequential):
        assert not any(hasattr(cls, m) for m in ("show", "load_weights", "_ipython_display_"))
    assert all(hasattr(tsp.Sequential, m) for m in ("show", "load_weights", "_ipython_display_"))
    rebuilt = tsp.Sequential.from_config(tsp.Sequential([RGBInput(shape=(4, 4, 3))]).get_config())
    assert type(rebuilt) is tsp.Sequential


def test_show_without_widget_libraries_says_what_to_install():
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in {"ipywidgets", "pythreejs", "traitlets"}:
                    raise ModuleNotFoundError(f"blocked: {name}", name=name)

        sys.meta_path.insert(0, Block())
        import tspwidget as tsp
        from tspwidget.layers import RGBInput, DepthwiseConv2d
        model = tsp.Sequential([RGBInput(shape=(6, 6)), DepthwiseConv2d(3)]).init(seed=0)
        try:
            model.show()
        except ImportError as err:
            print(err)
        """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "showing a model needs ipywidgets and pythreejs" in result.stdout
