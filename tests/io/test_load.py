"""Model files against Keras's own outputs, every format; and files that must be refused.

The fixtures in tests/fixtures/models/ were written by the dev-only script
tests/fixtures/make_model_files.py with Keras 3, tf-keras and tensorflowjs; this module needs numpy
and h5py only. ``<model>_reference.npz`` holds the input ``x`` and Keras's output of every layer
(``layer/<name>``); ``tfkeras/<name>`` where tf-keras computes differently (hard_sigmoid).
"""

import json
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.core.layers import conv as conv_module
from tspwidget.core.layers import flat as flat_module
from tspwidget.io import ModelFileError
from tspwidget.io import _readers as readers
from tspwidget.io._readers import read

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"


MANIFEST = json.loads((MODELS / "manifest.json").read_text())
FILES = [(MODELS / name, info) for name, info in MANIFEST["files"].items() if info["kind"] == "model"]
BAD = {name: info for name, info in MANIFEST["files"].items() if info["kind"] == "bad"}


def test_every_format_is_covered_and_read_as_its_keras_version():
    # Our reader against the manifest the generator wrote: the file's Keras version decides the
    # definitions (legacy = Keras 2 / TF.js), and weights-only files have no model description.
    formats = set()
    for name, info in MANIFEST["files"].items():
        if info["kind"] not in ("model", "weights"):
            continue
        stored = read(MODELS / name)
        formats.add(info["format"])
        assert (stored.spec is None) == (info["kind"] == "weights"), name
        assert stored.legacy == (not str(info["keras_version"]).startswith("3")), name
        assert stored.shapes, name
    assert formats == {"keras_v3_zip", "keras_h5", "tfjs_layers", "keras_weights_h5"}
    names = [p.name for p, _ in FILES]
    for model in ("mobilenet_v1", "mobilenet_v2", "all_layers"):
        assert f"{model}.keras" in names and any(n.startswith(model) and "_tfjs" in n for n in names)


def _compared_layers(model, z, ref):
    """``{our layer: reference key}`` for every layer; the depthwise half of a SeparableConv2D
    (no Keras output of its own) is the only one left out, and only it."""
    renamed = ref.get("layer_names_in_file_vs_npz", {})
    halves = {ours[0] for ours in model.keras_layers.values() if len(ours) == 2}
    pairs = {layer.name: ref["layer_prefix"] + renamed.get(layer.name, layer.name)
             for layer in model.layers if layer.name not in halves}
    for layer in model.inputs:  # a Keras Sequential lists no InputLayer: its output is x
        if pairs[layer.name] not in z:
            pairs[layer.name] = "x"
    keys = {k for k in z.files if k.startswith(ref["layer_prefix"])}
    assert set(pairs.values()) - {"x"} == keys, sorted(set(pairs.values()) ^ keys)
    assert all(h.endswith("/depthwise") for h in halves)
    return pairs


@pytest.mark.parametrize("path,info", FILES, ids=[p.name for p, _ in FILES])
def test_predict_matches_keras_on_every_layer(path, info):
    ref = info["reference"]
    z = np.load(MODELS / ref["npz"])
    model = tsp.load(path)
    out = model.predict(z["x"])
    for name, key in _compared_layers(model, z, ref).items():
        want = z[key]
        np.testing.assert_allclose(
            model.get_layer(name).neural_value, want[0], rtol=1e-4,
            atol=1e-4 * max(1.0, float(np.abs(want).max())), err_msg=f"{path.name}: layer {name}")
    # The softmax output within 1e-6 of Keras; on the MobileNets Keras's own float32 rounding is
    # larger than that (an exact float64 forward pass is 4.7e-6 / 5.6e-6 from Keras there, ours
    # 1.7e-6 / 4.6e-6 from the exact one), so they get 1e-5.
    tol = 1e-5 if info["model"].startswith("mobilenet") else 1e-6
    np.testing.assert_allclose(out, z[ref["output_key"]], atol=tol, rtol=0)


@pytest.mark.parametrize("model_name", sorted(n for n, m in MANIFEST["models"].items()
                                              if "keras_layer_params" in m))
def test_parameter_counts_are_keras_s(model_name):
    # Keras's count_params() per layer, recorded by the generator; a SeparableConv2D is our two
    # steps together (one bias), a BatchNormalization counts its moving statistics.
    keras_counts = MANIFEST["models"][model_name]["keras_layer_params"]
    model = tsp.load(MODELS / f"{model_name}.keras")
    for keras_name, count in keras_counts.items():
        ours = sum(model.get_layer(n).param_count for n in model.keras_layers[keras_name])
        assert ours == count, (model_name, keras_name)


def test_batch_norm_without_gamma_or_beta_matches_keras_to_1e_5():
    z = np.load(MODELS / "bn_options_reference.npz")
    for name in ("bn_options.keras", "bn_options_keras3.h5", "bn_options_tfkeras.h5"):
        model = tsp.load(MODELS / name)
        flags = {n: (model.get_layer(n).scale, model.get_layer(n).center)
                 for n in ("bn_nocenter", "bn_bare", "bn_noscale")}
        assert flags == {"bn_nocenter": (True, False), "bn_bare": (False, False),
                         "bn_noscale": (False, True)}
        model.predict(z["x"])
        for layer in model.layers:
            want = z[f"layer/{layer.name}"][0]
            np.testing.assert_allclose(layer.neural_value, want, rtol=0,
                                       atol=1e-5 * max(1.0, float(np.abs(want).max())),
                                       err_msg=f"{name}: {layer.name}")
        assert "gamma" not in model.get_layer("bn_bare").get_weights()


@pytest.mark.parametrize("weights,architecture", [
    ("sequential.weights.h5", "sequential.keras"), ("bn_options.weights.h5", "bn_options.keras"),
    ("all_layers.weights.h5", "all_layers.keras"),
    ("sequential_tfkeras_weights.h5", "sequential.keras")])  # Keras 2's save_weights (tf-keras)
def test_keras3_weights_only_files_fill_a_model_by_name(weights, architecture):
    info = MANIFEST["files"][weights]
    assert info["kind"] == "weights" and info["model"] == architecture
    z = np.load(MODELS / info["reference"]["npz"])
    blank = tsp.Model.from_config(tsp.load(MODELS / architecture).get_config())  # no weights
    assert blank.load_weights(MODELS / weights) is blank
    np.testing.assert_allclose(blank.predict(z["x"]), z["output"], atol=1e-6, rtol=0)
    with pytest.raises(ModelFileError, match="holds weights only.*load_weights"):
        tsp.load(MODELS / weights)


@pytest.mark.parametrize("source", ["all_layers.keras", "all_layers_keras3.h5",
                                    "all_layers_tfjs_keras3", "all_layers.weights.h5"])
def test_load_weights_fills_both_steps_of_a_separable_conv(source):
    z = np.load(MODELS / "all_layers_reference.npz")
    blank = tsp.Model.from_config(tsp.load(MODELS / "all_layers.keras").get_config())
    blank.load_weights(MODELS / source)
    assert blank.get_layer("sepconv/depthwise").kernel.shape == (3, 3, 24, 1)
    np.testing.assert_allclose(blank.predict(z["x"]), z["output"], atol=1e-6, rtol=0)


def test_weights_only_file_refuses_a_model_that_does_not_fit():
    loaded = tsp.load(MODELS / "bn_options.keras")
    config = loaded.get_config()
    bn = next(item for item in config["layers"] if item["config"]["name"] == "bn_bare")
    bn["config"]["scale"] = True  # our layer wants gamma; the file's has none
    model = tsp.Model.from_config(config)
    with pytest.raises(ModelFileError, match="layer 'bn_bare': .* stores 2 weights for it, the "
                                             "layer has 3"):
        model.load_weights(MODELS / "bn_options.weights.h5")
    assert model.get_layer("conv").kernel is None  # nothing was set
    renamed = tsp.Model.from_config(loaded.get_config())
    renamed.get_layer("conv").name = "conv_x"
    with pytest.raises(ModelFileError, match="layer 'conv_x' has no weights"):
        renamed.load_weights(MODELS / "bn_options.weights.h5")


def test_loading_draws_no_weights(monkeypatch):
    def no_drawing(*args, **kwargs):
        raise AssertionError("a weight was drawn while loading")
    monkeypatch.setattr(conv_module, "he_normal", no_drawing)
    monkeypatch.setattr(flat_module, "he_normal", no_drawing)
    z = np.load(MODELS / "mobilenet_v1_reference.npz")
    model = tsp.load(MODELS / "mobilenet_v1.keras")
    np.testing.assert_allclose(model.predict(z["x"]), z["output"], atol=1e-5, rtol=0)
    hand = tsp.Model.from_config(model.get_config())
    hand.load_weights(MODELS / "mobilenet_v1_tfkeras.h5")
    np.testing.assert_allclose(hand.predict(z["x"]), z["output"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["sequential.keras", "sequential_tfkeras.h5", "sequential_keras3.h5",
                                  "sequential.weights.h5", "bad_truncated.h5", "bad_kernel_shape.keras"])
def test_every_hdf5_file_is_closed(name, monkeypatch):
    opened = []

    class Recorded(h5py.File):  # keeps a reference, so garbage collection cannot close it for us
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(h5py, "File", Recorded)
    model = tsp.load(MODELS / "sequential.keras")
    try:
        model.load_weights(MODELS / name)
        tsp.load(MODELS / name)
    except ModelFileError:
        pass
    assert opened and not any(f.id.valid for f in opened)


def test_zip_members_are_read_up_to_a_limit(monkeypatch):
    monkeypatch.setattr(readers, "MAX_WEIGHTS_BYTES", 1000)
    with pytest.raises(ModelFileError, match="model.weights.h5 declares .* bytes, more than the 1,000 "):
        tsp.load(MODELS / "sequential.keras")


def test_a_weights_member_that_is_not_what_it_declares_is_refused(tmp_path):
    # Rewrite the central directory's declared size of model.weights.h5 (a lying zip): the
    # reader stops at the declared size and the zip's CRC check refuses the member.
    data = bytearray((MODELS / "sequential.keras").read_bytes())
    with zipfile.ZipFile(MODELS / "sequential.keras") as z:
        info = z.getinfo("model.weights.h5")
    name = info.filename.encode()
    central = data.index(b"PK\x01\x02", data.index(name, info.header_offset + 30 + len(name)) - 46)
    data[central + 24:central + 28] = (info.file_size - 100).to_bytes(4, "little")
    local = info.header_offset
    data[local + 22:local + 26] = (info.file_size - 100).to_bytes(4, "little")
    path = tmp_path / "lying.keras"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="truncated or corrupt: Bad CRC-32"):
        tsp.load(path)


def test_our_own_errors_are_not_called_malformed_files(monkeypatch):
    def bug(self):
        raise KeyError("a bug of ours")
    monkeypatch.setattr(conv_module._Conv, "weight_shapes", bug)
    with pytest.raises(KeyError, match="a bug of ours"):
        tsp.load(MODELS / "sequential.keras")


def test_real_configuration_of_every_layer():
    model = tsp.load(MODELS / "mobilenet_v1.keras")
    dw1, dw2 = model.get_layer("conv_dw_1"), model.get_layer("conv_dw_2")
    assert (dw1.kernel_size, dw1.strides, dw1.padding) == ((3, 3), (1, 1), "same")
    assert (dw2.kernel_size, dw2.strides, dw2.padding) == ((3, 3), (2, 2), "valid")
    assert model.get_layer("conv_pad_2").padding == ((0, 1), (0, 1))
    assert dw1.use_bias is False and dw1.depth_multiplier == 1


def test_all_layer_types_are_read():
    types = {layer.layer_type for layer in tsp.load(MODELS / "all_layers.keras").layers}
    assert types >= {"RGBInput", "Conv2d", "DepthwiseConv2d", "BatchNorm", "Activation", "Padding2d",
                     "Pooling2d", "GlobalPooling2d", "Dense", "Flatten", "Reshape", "Dropout",
                     "Add", "Concatenate", "Rescaling"}


def test_load_weights_by_name_into_a_hand_built_model(tmp_path):
    loaded = tsp.load(MODELS / "sequential.keras")
    rebuilt = []
    for layer in loaded.layers:  # the same topology, typed by hand: no weights
        kind = type(layer)
        if layer.is_input:
            rebuilt.append(kind(shape=layer.shape, name=layer.name))
        elif layer.layer_type == "DepthwiseConv2d":
            rebuilt.append(kind(layer.kernel_size, strides=layer.strides, padding=layer.padding,
                                depth_multiplier=layer.depth_multiplier,
                                activation=layer.activation, name=layer.name))
        elif layer.layer_type == "Conv2d":
            rebuilt.append(kind(layer.filters, layer.kernel_size, strides=layer.strides,
                                padding=layer.padding, activation=layer.activation, name=layer.name))
        elif layer.layer_type == "Dense":
            rebuilt.append(kind(layer.units, activation=layer.activation, name=layer.name))
        else:
            rebuilt.append(kind(name=layer.name))
    model = tsp.Sequential(rebuilt).init(seed=1)
    x = np.load(MODELS / "sequential_reference.npz")["x"]
    for source in ("sequential.keras", "sequential_tfkeras.h5", "sequential_tfjs"):
        model.load_weights(MODELS / source)
        np.testing.assert_allclose(model.predict(x), loaded.predict(x), atol=1e-6)
    renamed = tsp.Sequential([type(rebuilt[0])(shape=rebuilt[0].shape),
                              tsp.layers.DepthwiseConv2d(rebuilt[1].kernel_size, name="nope")])
    with pytest.raises(ModelFileError, match="layer 'nope' has no weights"):
        renamed.load_weights(MODELS / "sequential.keras")
    wrong = tsp.Sequential([type(rebuilt[0])(shape=rebuilt[0].shape),
                            tsp.layers.DepthwiseConv2d(5, name=rebuilt[1].name)])
    with pytest.raises(ModelFileError, match=f"layer '{rebuilt[1].name}'.*has shape"):
        wrong.load_weights(MODELS / "sequential.keras")


# ---------------------------------------------------------------- files that must be refused


def _rewrite_keras(src, dst, edit_config=None, extra=None):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "config.json" and edit_config:
                cfg = json.loads(data)
                edit_config(cfg)
                data = json.dumps(cfg).encode()
            zout.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def _layers(cfg):
    return cfg["config"]["layers"]


def test_lambda_layer_is_refused(tmp_path):
    def add_lambda(cfg):
        _layers(cfg)[-1]["class_name"] = "Lambda"
    path = _rewrite_keras(MODELS / "sequential.keras", tmp_path / "l.keras", add_lambda)
    with pytest.raises(ModelFileError, match="Lambda layer.*never runs code"):
        tsp.load(path)


def test_custom_class_is_refused_with_the_supported_list(tmp_path):
    def custom(cfg):
        _layers(cfg)[1]["class_name"] = "MyBlock"
        _layers(cfg)[1]["registered_name"] = "Custom>MyBlock"
    path = _rewrite_keras(MODELS / "sequential.keras", tmp_path / "c.keras", custom)
    with pytest.raises(ModelFileError, match="'MyBlock' is not supported.*DepthwiseConv2D"):
        tsp.load(path)


@pytest.mark.parametrize("module,registered", [("mylib.layers", None), (None, None),
                                               ("keras_addons", "Addons>Conv2D")])
def test_a_custom_class_under_a_builtin_name_is_refused_naming_its_module(tmp_path, module,
                                                                          registered):
    def disguise(cfg):
        conv = next(item for item in _layers(cfg) if item["class_name"] == "Conv2D")
        conv["module"], conv["registered_name"] = module, registered
    path = _rewrite_keras(MODELS / "sequential.keras", tmp_path / "c.keras", disguise)
    with pytest.raises(ModelFileError, match=f"layer 'conv' is a custom class .*'Conv2D' "
                                             f"\\(module {module!r}"):
        tsp.load(path)


def test_keras_own_module_and_registered_names_load(tmp_path):
    def spelled(cfg):
        conv = next(item for item in _layers(cfg) if item["class_name"] == "Conv2D")
        conv["module"], conv["registered_name"] = "keras.layers", "Conv2D"
    tsp.load(_rewrite_keras(MODELS / "sequential.keras", tmp_path / "k.keras", spelled))


@pytest.mark.parametrize("edit,match", [
    (lambda conv: conv["config"].pop("filters"), r"layer 'conv' \(Conv2D\): the description is "
                                                 r"malformed \(KeyError: 'filters'\)"),
    (lambda conv: conv["config"].update(kernel_size=7), r"layer 'conv' \(Conv2D\): .*stored kernel"),
    (lambda conv: conv["config"].update(filters=-3), r"layer 'conv' \(Conv2D\): `filters` must be "
                                                     r"an integer >= 1, got -3"),
    (lambda conv: conv["config"].update(padding="full"), r"layer 'conv' \(Conv2D\): `padding` "
                                                         r"must be \"valid\" or \"same\""),
    (lambda conv: conv.update(config=[1, 2]), r"\(Conv2D\): its config is a list"),
])
def test_malformed_layer_configs_name_the_layer(tmp_path, edit, match):
    def apply(cfg):
        edit(next(item for item in _layers(cfg) if item["class_name"] == "Conv2D"))
    with pytest.raises(ModelFileError, match=match):
        tsp.load(_rewrite_keras(MODELS / "sequential.keras", tmp_path / "m.keras", apply))


def test_declared_shapes_are_checked_against_stored_weights(tmp_path):
    def bigger_kernel(cfg):
        for item in _layers(cfg):
            if item["class_name"] == "DepthwiseConv2D":
                item["config"]["kernel_size"] = [5, 5]
    path = _rewrite_keras(MODELS / "sequential.keras", tmp_path / "s.keras", bigger_kernel)
    with pytest.raises(ModelFileError, match=r"stored kernel has shape \(3, 3, .*needs \(5, 5"):
        tsp.load(path)


def test_zip_members_are_never_extracted(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    path = _rewrite_keras(MODELS / "sequential.keras", work / "t.keras",
                          extra={"../../escaped.txt": b"x", "/abs/escaped.txt": b"x"})
    before = sorted(p.name for p in tmp_path.rglob("*"))
    tsp.load(path)  # reads config.json and model.weights.h5 by name; ignores the rest
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("name", ["mobilenet_v1_tfkeras.h5", "mobilenet_v1.keras"])
def test_truncated_files_give_a_clear_error(tmp_path, name):
    data = (MODELS / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated or corrupt|not a readable"):
        tsp.load(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "x.keras"
    path.write_bytes(b"hello")
    with pytest.raises(ModelFileError, match="neither a .keras zip"):
        tsp.load(path)
    with pytest.raises(FileNotFoundError):
        tsp.load(tmp_path / "missing.h5")


def test_object_dtype_weights_are_refused(tmp_path):
    path = tmp_path / "o.h5"
    shutil.copy(MODELS / "sequential_tfkeras.h5", path)
    with h5py.File(path, "r+") as f:
        group = f["model_weights"]
        name = next(n for n in group
                    if "weight_names" in group[n].attrs and len(group[n].attrs["weight_names"]))
        weight = group[name].attrs["weight_names"][0]
        weight = weight.decode() if isinstance(weight, bytes) else weight
        shape = group[name][weight].shape
        del group[name][weight]
        group[name].create_dataset(weight, data=np.full(shape, "a", dtype=h5py.string_dtype()))
    with pytest.raises(ModelFileError, match="weights must be floating point"):
        tsp.load(path)


def _copy_tfjs(tmp_path, edit):
    folder = tmp_path / "tfjs"
    shutil.copytree(MODELS / "sequential_tfjs", folder)
    doc = json.loads((folder / "model.json").read_text())
    edit(doc)
    (folder / "model.json").write_text(json.dumps(doc))
    return folder


def test_tfjs_shard_paths_may_not_leave_the_folder(tmp_path):
    def escape(doc):
        doc["weightsManifest"][0]["paths"] = ["../../etc/passwd"]
    with pytest.raises(ModelFileError, match="leaves the model's folder"):
        tsp.load(_copy_tfjs(tmp_path, escape))


def test_tfjs_manifest_must_match_the_shards(tmp_path):
    def grow(doc):
        doc["weightsManifest"][0]["weights"][0]["shape"][0] += 1
    with pytest.raises(ModelFileError, match="declares .* bytes of weights, but the shards hold"):
        tsp.load(_copy_tfjs(tmp_path, grow))


@pytest.mark.parametrize("edit,match", [
    (lambda doc: doc["weightsManifest"][0].pop("paths"), r"weightsManifest: the description is "
                                                         r"malformed \(KeyError: 'paths'\)"),
    (lambda doc: doc["weightsManifest"][0]["weights"][0].update(shape=["x", 3]),
     r"weightsManifest: the description is malformed \(ValueError"),
    (lambda doc: doc["weightsManifest"][0]["weights"].append(7), "entry is not an object"),
    (lambda doc: doc.update(modelTopology=[1]), "modelTopology is not an object"),
])
def test_malformed_tfjs_manifests_are_named(tmp_path, edit, match):
    with pytest.raises(ModelFileError, match=match):
        tsp.load(_copy_tfjs(tmp_path, edit))


def test_tfjs_json_path_and_folder_both_load():
    a = tsp.load(MODELS / "sequential_tfjs")
    b = tsp.load(MODELS / "sequential_tfjs" / "model.json")
    assert [layer.name for layer in a.layers] == [layer.name for layer in b.layers]


@pytest.mark.parametrize("name,match", [
    ("bad_lambda.keras", "Lambda layer.*never runs code"),
    ("bad_custom_layer.keras", "'ScaleChannels' is not supported"),
    ("bad_custom_builtin_name.keras", "layer 'conv' is a custom class saved under Keras's class "
                                      "name 'Conv2D' \\(module None, registered name "
                                      "'tspwidget_fixtures>Conv2D'\\)"),
    ("bad_truncated.h5", "not a readable|truncated or corrupt"),
    ("bad_truncated.keras", "not a readable|truncated or corrupt"),
    ("bad_kernel_shape.keras", r"stored kernel has shape \(3, 3, 6, 8\).*\(5, 5, 6, 8\)"),
    ("bad_tfjs_shard_size", "declares .* bytes of weights, but the shards hold"),
])
def test_the_fixture_bad_files_are_refused_clearly(name, match):
    assert name in BAD
    with pytest.raises(ModelFileError, match=match):
        tsp.load(MODELS / name)


def test_the_fixture_zip_slip_file_loads_without_writing_anything(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = set(MODELS.parent.rglob("*")) | set(tmp_path.parent.rglob("*"))
    tsp.load(MODELS / "bad_zip_slip.keras")
    assert set(MODELS.parent.rglob("*")) | set(tmp_path.parent.rglob("*")) == before


def _padded_keras(tmp_path, extra):
    """sequential.keras with ``extra`` zero bytes after its weights file (HDF5 ignores them)."""
    out = tmp_path / "padded.keras"
    with zipfile.ZipFile(MODELS / "sequential.keras") as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data + b"\0" * extra if info.filename == "model.weights.h5" else data)
    return out


def test_the_weights_member_is_capped_by_the_declared_shapes(tmp_path):
    model = tsp.load(MODELS / "sequential.keras")
    budget = readers.weights_budget(model)
    assert budget < 2**24  # a small model: megabytes, not the 2 GiB ceiling
    size = zipfile.ZipFile(MODELS / "sequential.keras").getinfo("model.weights.h5").file_size
    assert size < budget
    fits = tsp.load(_padded_keras(tmp_path, budget - size))
    np.testing.assert_array_equal(fits.layers[1].kernel, model.layers[1].kernel)
    too_big = _padded_keras(tmp_path, budget - size + 1)
    message = f"model.weights.h5 declares {budget + 1:,} bytes, more than the {budget:,} tspwidget reads"
    with pytest.raises(ModelFileError, match=message):
        tsp.load(too_big)
    with pytest.raises(ModelFileError, match=message):
        model.load_weights(too_big)
