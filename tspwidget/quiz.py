"""``view.quiz(layer)``: predict a feature map, then see it.

The layer's maps are hidden in the 3D view (a flat placeholder) and the layer closes; the student
gets three candidate pictures for one of its maps (the true one and two of the layer's other maps),
picks one, and the layer opens with its real maps while the quiz says whether they were right.
"""

from __future__ import annotations

import html
import struct
import zlib

import ipywidgets as widgets
import numpy as np

from .core import textures
from .core.diagram import drawn_input

LETTERS = "ABC"
SIZE_PX = 112  # each candidate's side on screen: big enough to compare in a classroom


def png_bytes(rgb):
    """A PNG file of an ``(h, w, 3)`` uint8 picture (no Pillow needed at run time)."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))  # filter type 0 per row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def _picture(view, layer, values):
    """One map as the view colours it (its own min-max, the layer colour or the colormap),
    scaled up by whole pixels so the browser does not blur it."""
    norm = textures.normalize(values[..., None], "map")[..., 0]
    rgb = textures.shade(norm, textures.hex_to_rgb(layer.color), view.colormap)[..., :3]
    k = max(1, SIZE_PX // max(rgb.shape[:2]))
    return rgb.repeat(k, axis=0).repeat(k, axis=1)


def _distractors(values, channel, rng):
    """Two other channels whose maps do not look like the true one (after normalising)."""
    norm = textures.normalize(values, "map")
    target = np.nan_to_num(norm[..., channel])
    others = [k for k in rng.permutation(values.shape[2]) if k != channel]
    distinct = [k for k in others if np.abs(np.nan_to_num(norm[..., k]) - target).max() > 0.05]
    return distinct[:2]


class Quiz(widgets.VBox):
    """See the module docstring; made by :meth:`tspwidget.ModelView.quiz`."""

    def __init__(self, view, layer, channel=None, seed=None):
        self.view, self.layer = view, layer
        values = layer.neural_value
        if values is None:
            raise ValueError(f"`layer` {layer.name!r} has no values yet: predict an input first "
                             f"(model.predict(x) or view.predict(image)).")
        if values.ndim != 3:
            raise ValueError(f"`layer` {layer.name!r} outputs a vector {values.shape}: a quiz "
                             f"needs feature maps (h, w, c).")
        rng = np.random.default_rng(seed)
        n = values.shape[2]
        if channel is None:
            channel = int(rng.integers(n))
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= channel < n:
            raise ValueError(f"`channel` must be a map index 0..{n - 1} of {layer.name!r}, got {channel!r}.")
        others = _distractors(values, int(channel), rng)
        if len(others) < 2:
            raise ValueError(f"`layer` {layer.name!r} has fewer than two other maps that differ from "
                             f"map {channel}: a quiz needs three different candidates.")
        self.channel = int(channel)
        self.candidates = [int(k) for k in rng.permutation([self.channel, *others])]
        self.correct = self.candidates.index(self.channel)
        self.choice = None
        self.images = [widgets.Image(value=png_bytes(_picture(view, layer, values[..., k])), format="png",
                                     layout=widgets.Layout(width=f"{SIZE_PX}px", height=f"{SIZE_PX}px"))
                       for k in self.candidates]
        self.buttons = [widgets.Button(description=LETTERS[i], layout=widgets.Layout(width=f"{SIZE_PX}px"))
                        for i in range(3)]
        for i, button in enumerate(self.buttons):
            button.on_click(lambda _, i=i: self.answer(i))
        source = ""
        if hasattr(layer, "source_channel") and layer.inbound_layers:
            drawn = drawn_input(view.scene.diagram, layer) or layer.inbound_layers[0].name
            source = f" (made from {html.escape(drawn)} channel {layer.source_channel(self.channel)})"
        self.prompt = widgets.HTML(f"<b>Predict:</b> which picture is map {self.channel} of "
                                   f"<b>{html.escape(layer.name)}</b>{source}?")
        self.result = widgets.HTML()
        columns = [widgets.VBox([img, btn], layout=widgets.Layout(margin="0 12px 0 0"))
                   for img, btn in zip(self.images, self.buttons)]
        super().__init__([self.prompt, widgets.HBox(columns), self.result])
        self.add_class("tsp-quiz")
        layer.close_layer()
        view._set_placeholder(layer.name, True)

    def __repr__(self):
        return f"<Quiz on {self.layer.name!r} map {self.channel}: answered={self.choice is not None}>"

    def answer(self, i):
        """Pick candidate ``i`` (0, 1 or 2: A, B, C); reveals the layer. Returns True if right."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < 3:
            raise ValueError(f"`i` must be 0, 1 or 2 (A, B, C), got {i!r}.")
        if self.choice is not None:
            raise ValueError(f"this quiz was already answered ({LETTERS[self.choice]}); "
                             f"start another with view.quiz({self.layer.name!r}).")
        self.choice = int(i)
        right = self.choice == self.correct
        for k, button in enumerate(self.buttons):
            button.disabled = True
            button.button_style = "success" if k == self.correct else ("danger" if k == self.choice else "")
        verdict = "Right!" if right else f"Not quite: it was {LETTERS[self.correct]}."
        self.result.value = (f"<b>{verdict}</b> {LETTERS[self.correct]} is map {self.channel}; the others "
                             f"are maps {', '.join(str(self.candidates[k]) for k in range(3) if k != self.correct)}."
                             f" The layer opens with its real maps.")
        self.view._set_placeholder(self.layer.name, False)
        self.layer.open_layer()  # the reveal: the open animation, the camera frames the layer
        return right
