"""Smoke test in Notebook 7: the widget renders and a click on the closed depthwise layer opens it."""

import time

import pytest

from .harness import (
    diff_fraction,
    image,
    lit_fraction,
    new_page,
    next_frames,
    open_notebook,
    run_cell,
    save,
    wait_idle,
    wait_status,
)

pytestmark = pytest.mark.browser


def test_renders_and_opens_on_click(notebook7, browser):
    page = new_page(browser)
    try:
        open_notebook(page, notebook7, "widget.ipynb")
        run_cell(page, 0)
        points = notebook7.wait_event(page, "displayed", timeout=120)
        canvas = page.locator(".jp-OutputArea canvas").first
        canvas.wait_for(timeout=60_000)
        canvas.scroll_into_view_if_needed()
        wait_idle(page, timeout=60_000)
        next_frames(page)
        closed = image(canvas.screenshot())
        save(closed, "nb7-1-closed.png")
        assert lit_fraction(closed) > 0.02, "the canvas is blank"

        box = canvas.bounding_box()
        t0 = time.time()
        page.mouse.click(box["x"] + points["closed"][0], box["y"] + points["closed"][1])
        event = notebook7.wait_event(page, "status", after=t0, timeout=20)
        assert event["new"] == "open"
        wait_status(page, "dw", "open")
        wait_idle(page)
        next_frames(page)
        opened = image(canvas.screenshot())
        save(opened, "nb7-2-open.png")
        assert diff_fraction(closed, opened) > 0.02
        # Notebook 7's own "reading 'schema'" page error happens with any notebook (see
        # browser-testing.md); everything else counts.
        ours = [e for e in page.errors
                if "lumino" not in e.lower() and "ReadPixels" not in e and "'schema'" not in e]
        assert not ours, ours
    finally:
        page.context.close()
