"""Hostile and unsupported ONNX files: each a clear ModelFileError, nothing read outside the
model's folder, no huge allocation. The files are built here with onnx.helper."""

import sys
import tracemalloc
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tspwidget as tsp
from tspwidget.io import ModelFileError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "onnx"


def conv_model(weight=None, *, op="Conv", domain="", input_dims=(1, 3, 8, 8), functions=()):
    """One node on a (1, 3, 8, 8) input: by default a 3x3 conv with 4 filters."""
    weight = weight if weight is not None else numpy_helper.from_array(
        np.ones((4, 3, 3, 3), np.float32), "w")
    node = helper.make_node(op, ["x", "w"], ["y"], name="/block/conv/Conv", domain=domain)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_dims))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[weight])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets, functions=list(functions))


def save(model, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def raw_tensor(dims, raw=b""):
    """A float tensor declaring ``dims`` whatever it stores (onnx.helper would refuse)."""
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=list(dims))
    if raw:
        tensor.raw_data = raw
    return tensor


def external_weight(location, offset=0, length=4 * 3 * 3 * 3 * 4):
    tensor = raw_tensor([4, 3, 3, 3])
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def test_external_data_outside_the_folder_is_never_read(tmp_path, monkeypatch):
    # A real file outside the model's folder, of exactly the size the weight declares.
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.full(108, 7, np.float32).tobytes())
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda f, *a, **k: opened.append(str(f)) or
                        real_open(f, *a, **k))
    for location in ("../secret.bin", "../../etc/passwd", str(secret)):
        path = save(conv_model(external_weight(location)), tmp_path / "model" / "m.onnx")
        with pytest.raises(ModelFileError, match="outside the model's folder"):
            tsp.load(path)
    assert not any("secret" in f or "passwd" in f for f in opened)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "secret.bin").write_bytes(np.zeros(108, np.float32).tobytes())
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").symlink_to(tmp_path / "secret.bin")
    with pytest.raises(ModelFileError, match="outside the model's folder"):
        tsp.load(save(conv_model(external_weight("w.bin")), folder / "m.onnx"))


def test_external_data_inside_the_folder_is_read(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"\0" * 16 + np.full(108, 0.5, np.float32).tobytes())
    path = save(conv_model(external_weight("w.bin", offset=16)), folder / "m.onnx")
    y = tsp.load(path).predict(np.ones((8, 8, 3), np.float32))
    assert np.allclose(y, 13.5)


@pytest.mark.parametrize("length", [100, 108 * 4 + 4])
def test_external_data_of_the_wrong_size_is_refused(tmp_path, length):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(np.zeros(108, np.float32).tobytes())
    path = save(conv_model(external_weight("w.bin", length=length)), folder / "m.onnx")
    with pytest.raises(ModelFileError, match="does not hold the declared"):
        tsp.load(path)


def test_a_declared_billion_channel_weight_is_refused_without_allocating(tmp_path):
    weight = raw_tensor([1_000_000_000, 3, 3, 3], np.zeros(8, np.float32).tobytes())
    path = save(conv_model(weight), tmp_path / "big.onnx")
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="initializer 'w'.*27,000,000,000 values"):
            tsp.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_a_weight_shorter_than_declared_is_refused(tmp_path):
    weight = raw_tensor([4, 3, 3, 3], np.zeros(10, np.float32).tobytes())
    with pytest.raises(ModelFileError, match="needs 108 values, the file stores 10"):
        tsp.load(save(conv_model(weight), tmp_path / "short.onnx"))


def test_a_truncated_file_is_refused(tmp_path):
    data = (FIXTURES / "lenet.onnx").read_bytes()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a readable ONNX file|not an ONNX model"):
        tsp.load(path)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_refused(tmp_path, seed):
    path = tmp_path / "random.onnx"
    path.write_bytes(np.random.default_rng(seed).bytes(4096))
    with pytest.raises(ModelFileError, match="ONNX"):
        tsp.load(path)


def test_an_op_of_a_custom_domain_is_refused(tmp_path):
    path = save(conv_model(op="MyConv", domain="com.example"), tmp_path / "custom.onnx")
    with pytest.raises(ModelFileError, match=r"/block/conv/Conv.*'MyConv'.*'com.example'"):
        tsp.load(path)


def test_a_function_body_is_refused(tmp_path):
    fn = helper.make_function("com.example", "Twice", ["a"], ["b"],
                              [helper.make_node("Add", ["a", "a"], ["b"])],
                              [helper.make_opsetid("", 17)])
    path = save(conv_model(functions=[fn]), tmp_path / "fn.onnx")
    with pytest.raises(ModelFileError, match="function bodies are not supported"):
        tsp.load(path)


def test_an_unknown_op_names_the_node_and_the_supported_list(tmp_path):
    path = save(conv_model(op="Einsum"), tmp_path / "einsum.onnx")
    with pytest.raises(ModelFileError) as err:
        tsp.load(path)
    message = str(err.value)
    assert "/block/conv/Conv" in message and "'Einsum'" in message
    assert "Supported ops:" in message and "BatchNormalization" in message


def test_a_dynamic_picture_size_is_refused_but_a_dynamic_batch_is_one_sample(tmp_path):
    with pytest.raises(ModelFileError, match=r"fixed \(1, C, H, W\) image input"):
        tsp.load(save(conv_model(input_dims=(1, 3, "H", "W")), tmp_path / "dyn.onnx"))
    model = tsp.load(save(conv_model(input_dims=("N", 3, 8, 8)), tmp_path / "batch.onnx"))
    assert model.predict(np.ones((2, 8, 8, 3), np.float32)).shape == (2, 6, 6, 4)


def test_an_old_opset_is_refused(tmp_path):
    model = conv_model()
    model.opset_import[0].version = 9
    with pytest.raises(ModelFileError, match="opset 9 is not supported"):
        tsp.load(save(model, tmp_path / "old.onnx"))


def test_onnx_is_not_imported_by_tspwidget():
    import subprocess

    code = "import sys, tspwidget; print('onnx' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    assert onnx.__version__  # the test extra brings it


@pytest.mark.parametrize("scopes,name", [
    ("['', 'features', 'features.0', 'conv2d']", "features.0"),  # the dynamo exporter's
    ("__import__('os').system('echo hacked')", "block.conv"),  # not a literal: never run
    ("[" * 5000 + "]" * 5000, "block.conv"),
])
def test_module_scopes_in_node_metadata_are_read_as_literals_only(tmp_path, scopes, name):
    model = conv_model()
    prop = model.graph.node[0].metadata_props.add()
    prop.key, prop.value = "pkg.torch.onnx.name_scopes", scopes
    assert tsp.load(save(model, tmp_path / "meta.onnx")).layers[1].name == name


def mutate(proto, rng):
    """One random corruption of a valid graph: an attribute, an input, a weight or the order."""
    graph = proto.graph
    node = graph.node[int(rng.integers(len(graph.node)))]
    kind = int(rng.integers(6))
    ints = [a for a in node.attribute if a.type in (onnx.AttributeProto.INT,
                                                    onnx.AttributeProto.INTS)]
    if kind == 0 and ints:
        attr = ints[int(rng.integers(len(ints)))]
        value = int(rng.choice([-3, 0, 1, 2, 7, 10**6]))
        if attr.type == onnx.AttributeProto.INT:
            attr.i = value
        else:
            attr.ints[int(rng.integers(len(attr.ints)))] = value
    elif kind == 1 and node.input:
        node.input[int(rng.integers(len(node.input)))] = "nowhere"
    elif kind == 2 and graph.initializer:
        tensor = graph.initializer[int(rng.integers(len(graph.initializer)))]
        if tensor.dims:
            tensor.dims[int(rng.integers(len(tensor.dims)))] = int(rng.choice([0, 2, 10**6]))
    elif kind == 3:
        node.op_type = str(rng.choice(["Relu", "Conv", "Gemm", "Reshape", "Add", "Concat",
                                       "MaxPool", "Flatten", "Transpose", "BatchNormalization"]))
    elif kind == 4 and len(graph.node) > 1:
        i = int(rng.integers(len(graph.node) - 1))
        first, second = onnx.NodeProto(), onnx.NodeProto()
        first.CopyFrom(graph.node[i])
        second.CopyFrom(graph.node[i + 1])
        graph.node[i].CopyFrom(second)
        graph.node[i + 1].CopyFrom(first)
    else:
        dims = graph.input[0].type.tensor_type.shape.dim
        dims[int(rng.integers(len(dims)))].dim_value = int(rng.choice([1, 2, 10**5]))


@pytest.mark.parametrize("name", ["lenet", "mobilenet_v3_small", "shufflenet_v2_x0_5"])
def test_corrupted_graphs_load_or_raise_model_file_errors_only(tmp_path, name):
    original = onnx.load(FIXTURES / f"{name}.onnx")
    rng = np.random.default_rng(11)
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(40):
        proto = onnx.ModelProto()
        proto.CopyFrom(original)
        for _ in range(int(rng.integers(1, 3))):
            mutate(proto, rng)
        path = save(proto, tmp_path / f"m{i}.onnx")
        try:
            tsp.load(path)
            outcomes["loaded"] += 1
        except ModelFileError as err:
            assert str(err)
            outcomes["refused"] += 1
    assert outcomes["refused"] > 10  # the corruptions do reach the checks


def test_a_constant_gather_to_an_absurd_size_is_refused_before_allocating(tmp_path):
    data = numpy_helper.from_array(np.zeros((1, 1 << 14), np.float32), "data")
    index = numpy_helper.from_array(np.zeros(1 << 16, np.int64), "index")
    nodes = [helper.make_node("Gather", ["data", "index"], ["big"], name="/g/Gather", axis=0),
             helper.make_node("Relu", ["x"], ["y"], name="/r/Relu")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[data, index])
    path = save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
                tmp_path / "gather.onnx")
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"node '/g/Gather' \(Gather\): Gather: "
                                                 r"declared shape .* values, more than"):
            tsp.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20  # the result would be 4 GiB


def test_without_the_onnx_package_load_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if it were not installed
    with pytest.raises(ModelFileError, match=r"pip install 'tspwidget\[onnx\]'"):
        tsp.load(FIXTURES / "lenet.onnx")
