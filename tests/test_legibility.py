"""Legible at every size, checked on geometry (``view.boxes()`` / ``view.screen_boxes()``):
for the quickstart model, the shipped MobileNet file, MobileNetV2, a 60-layer Sequential model
and PyTorch models read from ONNX (ResNet18, MobileNetV2 and V3, EfficientNet-B0, MNASNet,
SqueezeNet, ShuffleNet), at
800x500 and in projector mode,
with each layer opened in turn and all of them open,
no two layers' maps overlap on screen, no label overlaps another label or any map, and labels
are at least 11 px high at the default camera (when everything is closed: 13 px, projector 20)
whenever at most one layer is open. (With every layer of a deep model open at once, the model is
so large that its labels get smaller; they still never overlap.)
"""

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

import tspwidget as tsp
from tspwidget.layers import Conv2d, DepthwiseConv2d, Pooling2d, RGBInput

ROOT = Path(__file__).resolve().parents[1]


def quickstart():
    return tsp.Sequential([
        RGBInput(shape=(32, 32, 3), name="image"),
        DepthwiseConv2d(kernel_size=3, depth_multiplier=2, padding="same", name="depthwise"),
        Conv2d(filters=4, kernel_size=1, name="pointwise"),
        Pooling2d(pool_size=2, name="pool"),
    ]).init(seed=0)


def sixty_layers():
    layers = [RGBInput(shape=(32, 32, 3), name="image")]
    for i in range(30):
        layers += [DepthwiseConv2d(3, padding="same", name=f"dw{i}"),
                   Conv2d(filters=8 if i < 15 else 16, kernel_size=1, name=f"pw{i}")]
    return tsp.Sequential(layers[:61]).init(seed=0)


MODELS = {
    "quickstart": quickstart,
    "mobilenet_file": lambda: tsp.load(ROOT / "notebooks" / "models" / "mobilenet_v1_alpha025_96.keras"),
    "sixty_layers": sixty_layers,
    "mobilenet_v2": lambda: tsp.load(ROOT / "tests" / "fixtures" / "models" / "mobilenet_v2.keras"),
    # PyTorch models through ONNX: torch's module names, Pad nodes, residual Adds with their ReLU.
    "resnet18_onnx": lambda: tsp.load(ROOT / "tests" / "fixtures" / "onnx" / "resnet18.onnx"),
    "mobilenet_v2_onnx": lambda: tsp.load(ROOT / "notebooks" / "models" / "mobilenet_v2_64.onnx"),
    # Squeeze-excitation gates drawn inside the map they scale (+SE).
    **{name: (lambda name=name: tsp.load(ROOT / "tests" / "fixtures" / "onnx" / f"{name}.onnx"))
       for name in ("mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "mnasnet0_5")},
    # Side-by-side fire modules (short labels drop the shared name prefix); channel split/shuffle
    # folded into the layers around them (+split, +shuffle).
    **{name: (lambda name=name: tsp.load(ROOT / "tests" / "fixtures" / "onnx" / f"{name}.onnx"))
       for name in ("squeezenet1_1", "shufflenet_v2_x0_5")},
}


def overlap(a, b, tolerance=0.5):
    """Do two screen rectangles (x0, y0, x1, y1) share more than a sliver?"""
    return min(a[2], b[2]) - max(a[0], b[0]) > tolerance and min(a[3], b[3]) - max(a[1], b[1]) > tolerance


def collisions(boxes):
    found = []
    names = list(boxes)
    for a, b in combinations(names, 2):
        if overlap(boxes[a]["maps"], boxes[b]["maps"]):
            found.append((a, "maps", b, "maps"))
        if overlap(boxes[a]["label"], boxes[b]["label"]):
            found.append((a, "label", b, "label"))
    for a in names:
        for b in names:
            if overlap(boxes[a]["label"], boxes[b]["maps"]):
                found.append((a, "label", b, "maps"))
            if a != b and boxes[a]["button"] is not None and (
                    overlap(boxes[a]["button"], boxes[b]["maps"]) or overlap(boxes[a]["button"], boxes[b]["label"])):
                found.append((a, "button", b, "maps/label"))
    return found


@pytest.fixture(scope="module", params=list(MODELS))
def model(request):
    return request.param, MODELS[request.param]()


@pytest.mark.parametrize("projector", [False, True], ids=["800x500", "projector"])
def test_nothing_overlaps_whatever_is_open(model, projector):
    name, m = model
    view = m.show(width=800, height=500, projector=projector)
    names = list(view.scene.layers)
    closed = {n: "close" for n in names}
    statuses = [closed, {n: "open" for n in names}]
    step = max(1, len(names) // 12)  # each layer in turn (a sample of them for the deep models)
    statuses += [{**closed, n: "open"} for n in names[::step]]
    for k, status in enumerate(statuses):
        boxes = view.scene.screen_boxes(status)
        opened = [n for n, s in status.items() if s == "open"]
        assert not collisions(boxes), (name, opened[:3], collisions(boxes)[:5])
        if k != 1:
            assert min(b["label_px"] for b in boxes.values()) >= 11 * 0.99, (name, opened[:3])
    first = view.scene.screen_boxes(closed)
    goal = 20 if projector else 13
    # The goal where it fits (deep models on a projector get the largest size that fits).
    deep = ("mobilenet_v2", "resnet18_onnx", "mobilenet_v2_onnx", "mobilenet_v3_large", "efficientnet_b0",
            "mnasnet0_5", "shufflenet_v2_x0_5")
    least = {"quickstart": goal, **dict.fromkeys(deep, 11.0)}.get(name, 13.0 if projector else goal)
    assert min(b["label_px"] for b in first.values()) >= least * 0.99
    # The default camera shows everything and fills most of the canvas.
    xs = [v for b in first.values() for k in ("maps", "label") for v in (b[k][0], b[k][2])]
    ys = [v for b in first.values() for k in ("maps", "label") for v in (b[k][1], b[k][3])]
    assert min(xs) >= -1 and max(xs) <= 801 and min(ys) >= -1 and max(ys) <= 501
    assert (max(xs) - min(xs)) / 800 > 0.8 or (max(ys) - min(ys)) / 500 > 0.8
    view.close()


def test_world_boxes_of_different_layers_never_intersect(model):
    name, m = model
    view = m.show(width=800, height=500)
    names = list(view.scene.layers)
    for status in ({n: "close" for n in names}, {n: "open" for n in names}):
        boxes = view.scene.boxes(status)
        for a, b in combinations(names, 2):
            A, B = np.array(boxes[a]["maps"]), np.array(boxes[b]["maps"])
            inter = np.minimum(A[3:], B[3:]) - np.maximum(A[:3], B[:3])
            assert not (inter > 1e-9).all(), (name, a, b)
    view.close()


def test_boxes_follow_the_statuses_as_they_will_be(model):
    name, m = model
    view = m.show(width=800, height=500)
    target = next(n for n, lm in view.scene.layers.items() if lm.layout.channels > 1)
    closed = view.boxes()[target]
    view.scene.layers[target].layer.open_layer()
    opened = view.boxes()[target]
    assert opened["button"] is not None and closed["button"] is None
    assert opened["maps"][3] - opened["maps"][0] > closed["maps"][3] - closed["maps"][0]
    view.close()
