"""``SceneController``: the browser half of a ModelView (an anywidget; see js/controller.js).

It refers to the view's pythreejs objects and, in the browser, moves them: open/close morphs,
layers making room, camera easing, picking, hover, labels and connection lines. Python only
syncs state (statuses, animation times, the focus) and hears map clicks as messages. The ESM
module is ``tspwidget/static/controller.js``, a copy of ``js/controller.js`` made by js/build.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import anywidget
import traitlets as t
from ipywidgets import Widget, widget_serialization

ESM = Path(__file__).resolve().parent / "static" / "controller.js"


def _ref(**kw):
    return t.Instance(Widget, **kw).tag(sync=True, **widget_serialization)


class SceneController(anywidget.AnyWidget):
    """State of the 3D view that the browser acts on (see the module docstring)."""

    _esm = ESM
    uid = t.Unicode(help="Identifies this controller across views of it in one page.").tag(sync=True)
    scene = _ref()
    camera = _ref()
    orbit = _ref()
    links = _ref()
    hover = _ref()
    meshes = t.List(t.Instance(Widget)).tag(sync=True, **widget_serialization)
    plan = t.Dict(help="tspwidget.core.layout.Plan.to_json(): nodes, footprints, labels.").tag(sync=True)
    geometry = t.List(help="Per node: rows, cols, map_size, centers, button (for picking).").tag(sync=True)
    size = t.Dict(help="{'width': px, 'height': px} of the canvas.").tag(sync=True)
    status = t.Dict(help="{node name: 'open' | 'close'}").tag(sync=True)
    anime = t.Dict(help="{node name: animation time in ms}").tag(sync=True)
    focus = t.Unicode(None, allow_none=True, help="Node the camera frames; None: the whole model.").tag(sync=True)
    camera_moved = t.Bool(False, help="The user moved the camera away from the framing.").tag(sync=True)
    follow = t.Bool(True, help="Ease the camera to a layer when it opens.").tag(sync=True)
    redraw = t.Int(0, help="Bumped after textures changed: the browser draws a frame (pythreejs "
                           "does not redraw for a texture inside a material's uniforms).").tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(uid=uuid.uuid4().hex, **kwargs)
