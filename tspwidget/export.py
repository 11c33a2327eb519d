"""Offline HTML export: one self-contained ``.html`` file, no network, no kernel.

``save_html(view, path)`` writes a ``ModelView`` as a page that inlines require.js, jupyter-threejs
(three r97 bundled) and the widgets' html-manager (``tspwidget/static/``, produced by
``js/build.py``), the widget state (``ipywidgets.embed.embed_data``), the layout of every layer
as JSON, and a small controller (``js/offline_controller.js``) that replays in the browser what
Python does on a click: open a closed layer, close it with its round button, with the same
animations. Clicking a map shows its layer, channel and pixel (values and the arithmetic panel
need the kernel). Orbit, zoom and pan work as in the notebook.

The file is about 5 MB, nearly all of it the three inlined scripts.
"""

from __future__ import annotations

import json
from pathlib import Path

from ipywidgets import Widget
from ipywidgets.embed import embed_data

STATIC = Path(__file__).resolve().parent / "static"
_SCRIPTS = ("require.js", "jupyter-threejs.js", "embed-amd.js")
_CONTROLLER = "offline_controller.js"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>{title}</title>
<style>body {{ font-family: sans-serif; margin: 8px; }}</style>
</head>
<body>
<script>{require}</script>
<script>{threejs}</script>
<script data-jupyter-widgets-cdn="./no-cdn/">{embed}</script>
<div id="tsp-export-root"></div>
<script type="application/vnd.tspwidget.state+json" id="tsp-export-state">
{state}
</script>
<script type="application/json" id="tsp-export-config">
{config}
</script>
<script>{controller}</script>
</body>
</html>
"""


def _escape(text):
    """Make JSON or JS safe inside a <script> element."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _static(name):
    path = STATIC / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the offline export needs the bundled JavaScript "
            "(cd js && npm ci && python build.py)."
        )
    return path.read_text(encoding="utf-8")


def _refs(value):
    """Widgets anywhere in a trait value (nested lists, tuples and dicts included)."""
    if isinstance(value, Widget):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)


def widget_state(widgets):
    """Embed state of ``widgets`` and every widget they refer to.

    Like ``ipywidgets.embed.dependency_state`` but it also follows references nested deeper than
    one list or dict (a BufferGeometry's ``morphAttributes = {"position": [attribute]}``), which
    that function misses: the page would then fail with "widget model not found".
    """
    store, todo = {}, list(widgets)
    while todo:
        widget = todo.pop()
        if widget.model_id in store:
            continue
        state = widget._get_embed_state(drop_defaults=False)
        store[widget.model_id] = state
        for key in state["state"]:
            todo.extend(ref for ref in _refs(getattr(widget, key, None)) if ref.model_id not in store)
    return store


def layout_config(view):
    """What the offline controller needs: model ids and each layer's geometry and status."""
    from .scene import CLIP_SECONDS

    scene = view.scene
    layers = []
    for name, lm in scene.layers.items():
        lay = lm.layout
        layers.append({
            "name": name,
            "mesh": lm.mesh.model_id,
            "action": lm.action.model_id,
            "position": [float(v) for v in lm.position],
            "status": lm.layer.status,
            "base_open": bool(lm.base_open),
            "rows": int(lay.rows),
            "cols": int(lay.cols),
            "map_size": [float(v) for v in lay.map_size],
            "centers": [[float(x), float(z)] for x, z in lay.centers],
            "button": [float(v) for v in lay.button],
            "button_visible": bool(lay.button_visible),
            "seconds": float(lm.layer.anime_time) / 1000.0,
        })
    info = getattr(view, "info", None)
    return {
        "root": view.model_id,
        "renderer": scene.renderer.model_id,
        "camera": scene.camera.model_id,
        # camera.lookAt() is a method call, not state: the page redoes it with this target.
        "target": [float(v) for v in scene.orbit.target],
        "scene": scene.scene.model_id,
        "info": info.model_id if info is not None else None,
        "clip_seconds": CLIP_SECONDS,
        "layers": layers,
    }


def to_html(view, title=None):
    """The page for ``view`` as a string (see ``save_html``)."""
    # The AnimationActions (with their mixers, clip and tracks) are no view's children: add them.
    actions = [lm.action for lm in view.scene.layers.values()]
    state = widget_state([view, *actions])
    data = embed_data(views=[view], state=state, drop_defaults=False)
    title = title if title is not None else f"tspwidget: {getattr(view.model, 'name', 'model')}"
    return _PAGE.format(
        title=(str(title).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")),
        require=_static("require.js"),
        threejs=_static("jupyter-threejs.js"),
        embed=_static("embed-amd.js"),
        state=_escape(json.dumps(data["manager_state"])),
        config=_escape(json.dumps(layout_config(view))),
        controller=_static(_CONTROLLER),
    )


def save_html(view, path, title=None):
    """Write ``view`` (a ``ModelView``) as ONE self-contained HTML file; returns its ``Path``.

    The page needs no network and no kernel: it shows the same scene (camera, layer statuses,
    colours), orbit/zoom/pan, click a closed layer to open it and its round X to close it, with
    the same animations. Python callbacks (``on_select``), values of clicked pixels and the
    inspector panel need a kernel and are not in the file.
    """
    path = Path(path)
    path.write_text(to_html(view, title=title), encoding="utf-8")
    return path


def export_html(model, path, title=None, **view_options):
    """Build a ``ModelView`` of ``model`` with ``view_options`` and ``save_html`` it."""
    from .widget import ModelView

    view = ModelView(model, **view_options)
    try:
        return save_html(view, path, title=title)
    finally:
        view.close()
