"""Every PyTorch architecture of issue 11, read from its ONNX fixture, drawn in JupyterLab 4: the
canvas is lit, every layer inside it and none overlapping another, labels off the maps and at least
11 px, no warning in Python or the page. One notebook page (and kernel) serves them all: each test
names its model in a file and runs the cell again, so it gets a view of its own (the previous
one's output is replaced) and its own console check. Screenshots: tests/artifacts/browser/onnx-<model>.png.
"""

from pathlib import Path

import pytest

from .harness import (
    ARTIFACTS,
    console_clean,
    lit_fraction,
    new_page,
    open_notebook,
    show_fresh,
    write_notebook,
)
from .test_lab import assert_legible, canvas_shot

pytestmark = pytest.mark.browser

ONNX = Path(__file__).resolve().parents[1] / "fixtures" / "onnx"
MODELS = ["lenet", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "resnet18", "mnasnet0_5",
          "efficientnet_b0", "shufflenet_v2_x0_5", "squeezenet1_1"]
W, H = 800, 500

CELL = '''
import json, os, re, time, warnings
import numpy as np
import tspwidget as tsp

model = tsp.load(open("onnx_model.txt").read())  # the test names it
model.predict(np.random.default_rng(0).uniform(0, 1, model.inputs[0].shape).astype(np.float32))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    view = model.show(width={W}, height={H})
said = [float(m.group(1)) for w in caught if (m := re.search(r"labels are only ([0-9.]+) px", str(w.message)))]
with open(os.environ["TSP_EVENTS"], "a") as f:
    f.write(json.dumps(dict(kind="displayed", t=time.time(), names=list(view.scene.layers), said=said,
                            uid=view.controller.uid)) + "\\n")
view
'''


@pytest.fixture(scope="module")
def notebook(lab, browser):
    """onnx.ipynb open, its kernel started: no view yet (each test displays its own)."""
    write_notebook(lab.root / "onnx.ipynb", [CELL.format(W=W, H=H)])
    page = new_page(browser)
    open_notebook(page, lab, "onnx.ipynb")
    yield page
    page.context.close()


@pytest.mark.parametrize("name", MODELS)
def test_an_onnx_model_renders_legibly(lab, notebook, name):
    page = notebook
    (lab.root / "onnx_model.txt").write_text(str(ONNX / f"{name}.onnx"))
    with console_clean(page):
        check_legible(page, name, show_fresh(page, lab, 0))


def check_legible(page, name, shown):
    page.locator(".tsp-view").first.screenshot(path=str(ARTIFACTS / f"onnx-{name}.png"))
    assert lit_fraction(canvas_shot(page)) > 0.02, "the canvas is blank"
    assert not shown["said"], shown["said"]  # no warning that labels got smaller than 11 px
    assert_legible(page, shown["names"], W, H)
