"""Fixtures for the real-browser tests: a Jupyter server per app, one Chromium for the session.

These tests never skip: on a machine without /usr/bin/chromium they fail (``bash run.sh test``
installs it), because in CI a missing browser must be a failure, not a silent pass.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from .harness import CHROMIUM, JupyterServer, launch, write_notebook

# The notebook every browser test drives: an RGB input, a depthwise layer with depth multiplier 2,
# and a 1x1 Conv2d. The kernel logs what Python sees to $TSP_EVENTS.
SETUP = '''
import json, os, time
import numpy as np
import tspwidget as tsp
import tspwidget.core.layout
from tspwidget.layers import RGBInput, DepthwiseConv2d, Conv2d

def log(kind, **kw):
    with open(os.environ["TSP_EVENTS"], "a") as f:
        f.write(json.dumps(dict(kind=kind, t=time.time(), **kw)) + "\\n")

h = w = 12
rows, cols = np.mgrid[0:h, 0:w]
image = np.zeros((h, w, 3), np.float32)
image[..., 0], image[..., 1] = cols / (w - 1), rows / (h - 1)
image[2:10, 2:4, 2] = 1; image[2:4, 2:9, 2] = 1; image[5:7, 2:7, 2] = 1   # an F in blue
model = tsp.Sequential([
    RGBInput(shape=(h, w, 3), name="image"),
    DepthwiseConv2d(kernel_size=3, depth_multiplier=2, padding="same", name="dw"),
    Conv2d(filters=4, kernel_size=1, name="pw"),
])
model.init(seed=0)
model.predict(image)
dw = model.get_layer("dw")
dw.add_observer(lambda layer, attr, old, new: log("status", new=new) if attr == "status" else None)
view = model.show(width=800, height=600)
view.on_select(lambda info: log("select", **info))
sc = view.scene
lay = sc.layers["dw"].layout
mw, md = lay.map_size

OPEN = {"dw": "open"}  # where the camera ends after dw opens: framing dw

def pixel_point(channel, row, col):
    cx, cz = lay.centers[channel]
    return sc.screen_point("dw", cx - mw / 2 + (col + .5) * mw / lay.cols,
                           cz - md / 2 + (row + .5) * md / lay.rows, status=OPEN, focus="dw")

names = list(sc.layers)
arranged = {key: tsp.core.layout.arrange(sc.plan, sc.open_flags(st)).positions.tolist()
            for key, st in (("closed", {}), ("dw", OPEN), ("all", {n: "open" for n in names}))}
log("displayed", uid=view.controller.uid, closed=sc.screen_point("dw", 0, 0),
    button=sc.screen_point("dw", *lay.button[:2], status=OPEN, focus="dw"),
    map3=pixel_point(3, 2, 9), hover3=list(sc.layers["dw"].hover_rect(3)), anime_ms=dw.anime_time,
    arranged=arranged, names=names)
view
'''
OPEN_FROM_PYTHON = 'dw.open_layer()\nlog("ran", cell="open")'
KERNELS = ('view.show_kernels("dw")\ndw.open_layer()\n'
           'log("ran", cell="kernels", button=sc.screen_point("dw", *lay.button[:2], status=OPEN, focus="dw"))')
RAPID_TOGGLES = ('for i in range(100):\n    dw.open_layer() if i % 2 == 0 else dw.close_layer()\n'
                 'log("ran", cell="toggles", status=dw.status, layer_status=view.layer_status)')


@pytest.fixture(scope="session")
def browser():
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: browser tests need Debian's chromium (bash run.sh test installs it)"
        + (" -- in CI this is a failure, never a skip" if os.environ.get("CI") else "")
    )
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def _server(app, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"{app}-root")
    write_notebook(root / "widget.ipynb", [SETUP, OPEN_FROM_PYTHON, RAPID_TOGGLES, KERNELS])
    server = JupyterServer(app, root, tmp_path_factory.mktemp(f"{app}-tmp"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    yield from _server("lab", tmp_path_factory)


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    yield from _server("notebook", tmp_path_factory)
