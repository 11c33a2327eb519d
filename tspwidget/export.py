"""Offline HTML export: one self-contained ``.html`` file, no network, no kernel.

``save_html(view, path)`` writes a ``ModelView`` as a page that inlines require.js,
jupyter-threejs (three r97 bundled), anywidget's front end and the widgets' html-manager
(``tspwidget/static/``, copied from npm by ``js/build.py``) and the widget state. The view's
browser controller (``js/controller.js``, which travels in the state as the anywidget module)
runs there exactly as in a notebook: click a closed layer to open it, its round X to close it,
the layers make room and the camera follows; hover and labels work. What needs Python (values
of a clicked pixel, the arithmetic panel, ``on_select``) is not there.

The exporter takes a view's widget state; it never imports the widget module (which imports it).
"""

from __future__ import annotations

import json
from pathlib import Path

from ipywidgets import Widget
from ipywidgets.embed import embed_data, escape_script

STATIC = Path(__file__).resolve().parent / "static"
_SCRIPTS = ("require.js", "jupyter-threejs.js", "anywidget.js", "embed-amd.js")

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
<script>{anywidget}</script>
<script data-jupyter-widgets-cdn="./no-cdn/">{embed}</script>
<script type="application/vnd.jupyter.widget-state+json">
{state}
</script>
{views}
</body>
</html>
"""


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
    that function misses: the page would then fail with "widget model not found". Defaults are
    kept: anywidget's ``_esm`` is one.
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


def to_html(view, title=None):
    """The page for ``view`` (any widget: a ModelView) as a string (see ``save_html``)."""
    data = embed_data(views=[view], state=widget_state([view]), drop_defaults=False)
    views = "\n".join(f'<script type="application/vnd.jupyter.widget-view+json">'
                      f"{escape_script(json.dumps(spec))}</script>" for spec in data["view_specs"])
    model = getattr(view, "model", None)
    title = title if title is not None else f"tspwidget: {getattr(model, 'name', 'model')}"
    return _PAGE.format(
        title=(str(title).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")),
        require=_static("require.js"),
        threejs=_static("jupyter-threejs.js"),
        anywidget=_static("anywidget.js"),
        embed=_static("embed-amd.js"),
        state=escape_script(json.dumps(data["manager_state"])),
        views=views,
    )


def save_html(view, path, title=None):
    """Write ``view`` (a ``ModelView``) as ONE self-contained HTML file; returns its ``Path``."""
    path = Path(path)
    path.write_text(to_html(view, title=title), encoding="utf-8")
    return path

