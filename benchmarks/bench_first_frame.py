"""Time from ``show()`` to the first drawn frame, in real JupyterLab 4 + headless Chromium.

For MobileNetV1 1.0 and MobileNetV2 1.0 at 224x224 (random weights, one predict): the kernel logs
the wall clock before ``model.show()`` and after it returns (Python time); the browser side waits
until the view's controller is live and the canvas shows the model (its pixels are not all
background), and the same machine's clock gives the time to the first frame.

Run: python benchmarks/bench_first_frame.py   (needs the test extra and /usr/bin/chromium)
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.harness import (  # noqa: E402
    JupyterServer,
    image,
    launch,
    lit_fraction,
    new_page,
    open_notebook,
    run_cell,
    write_notebook,
)

CELL = '''
import json, os, sys, time
sys.path.insert(0, {bench!r})
import numpy as np
from bench_scene import {builder}
model = {builder}().init(seed=0)
model.predict(np.random.default_rng(0).random((224, 224, 3)).astype(np.float32))
t0 = time.time()
view = model.show(width=800, height=500)
t1 = time.time()
with open(os.environ["TSP_EVENTS"], "a") as f:
    f.write(json.dumps(dict(kind="shown", t=t0, python=t1 - t0)) + "\\n")
view
'''


def first_frame(lab, browser, builder):
    name = f"{builder}.ipynb"
    write_notebook(lab.root / name, [CELL.format(bench=str(ROOT / "benchmarks"), builder=builder)])
    page = new_page(browser)
    open_notebook(page, lab, name)
    run_cell(page, 0)
    shown = lab.wait_event(page, "shown", timeout=300, where=lambda e: True)
    page.wait_for_function("() => !!globalThis.__tspLive && globalThis.__tspLive.size > 0", timeout=300_000)
    canvas = page.locator(".jp-OutputArea canvas").first
    while lit_fraction(image(canvas.screenshot())) < 0.01:
        page.wait_for_timeout(50)
    seconds = time.time() - shown["t"]
    page.context.close()
    return shown["python"], seconds


def main():
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, chromium (SwiftShader WebGL, no GPU)")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        root = Path(tmp) / "root"
        root.mkdir()
        lab = JupyterServer("lab", root, tmp)
        browser = launch(playwright)
        try:
            print("\n| model | show() Python time (s) | show() -> first frame in the browser (s) |")
            print("|---|---|---|")
            for label, builder in (("MobileNetV1 1.0 224x224", "mobilenet_v1"),
                                   ("MobileNetV2 1.0 224x224", "mobilenet_v2")):
                python, frame = first_frame(lab, browser, builder)
                print(f"| {label} | {python:.2f} | {frame:.2f} |")
                lab.events.unlink(missing_ok=True)
        finally:
            browser.close()
            lab.stop()


if __name__ == "__main__":
    main()
