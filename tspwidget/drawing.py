"""``DrawingPad``: draw a digit with mouse or touch and watch the model answer (an anywidget).

The front end (``js/drawing_pad.js``, copied to ``tspwidget/static/`` by ``js/build.py``) paints
with a soft round brush straight into a canvas of the model's input size (28x28 for the digits
model, shown 10x larger), so what the student sees is exactly what the model gets. On each stroke
end it sends the whole picture as ONE binary buffer (``rows * cols`` bytes, one per pixel) in a
custom message; never per-mousemove messages, never JSON lists. Python scales it to [0, 1],
predicts, and every view of the model refreshes its textures; the pad's bar chart and caption
come back as one state message.

``prepare_image`` is the numpy-only conversion ``ModelView.predict`` uses for any picture: it
resizes and greys (or repeats grey to RGB) with a warning that says what it did.
"""

from __future__ import annotations

import time
import warnings
from collections import deque
from pathlib import Path

import anywidget
import numpy as np
import traitlets as t

from .core import model as core_model

ESM = Path(__file__).resolve().parent / "static" / "drawing_pad.js"
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as PIL's convert("L")


# ---------------------------------------------------------------------------------- images
def _resize_matrix(n_in, n_out):
    """``(n_out, n_in)`` weights resizing one axis: the area average when shrinking (each output
    pixel averages the input it covers, fractions included, like PIL's BOX filter), half-pixel
    centred bilinear interpolation when enlarging (like PIL's BILINEAR)."""
    if n_out == n_in:
        return np.eye(n_in)
    weights = np.zeros((n_out, n_in))
    if n_out < n_in:
        scale = n_in / n_out
        for i in range(n_out):
            lo, hi = i * scale, (i + 1) * scale
            for j in range(int(np.floor(lo)), min(int(np.ceil(hi)), n_in)):
                weights[i, j] = min(hi, j + 1) - max(lo, j)
        return weights / weights.sum(axis=1, keepdims=True)
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    frac = pos - low
    np.add.at(weights, (np.arange(n_out), low), 1 - frac)
    np.add.at(weights, (np.arange(n_out), high), frac)
    return weights


def resize(image, rows, cols):
    """``image`` ``(h, w, c)`` resized to ``(rows, cols, c)`` (float64; see ``_resize_matrix``)."""
    arr = np.asarray(image, np.float64)
    return np.einsum("ij,jkc,lk->ilc", _resize_matrix(arr.shape[0], rows), arr,
                     _resize_matrix(arr.shape[1], cols))


def prepare_image(image, shape, name="image"):
    """``image`` as one float32 sample of ``shape`` ``(h, w, c)``, and what was done to it.

    ``image`` is ``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)``, of a bool, integer or float dtype;
    uint8 values 0..255 are scaled to 0..1, other values are kept. An RGB picture for a one-channel
    model is greyed (luma 0.299 R + 0.587 G + 0.114 B), a grey one for a 3-channel model repeated to
    RGB, and a picture of another size resized (area average to shrink, bilinear to enlarge).
    Returns ``(array, notes)``: ``notes`` lists those changes in words (empty when none was needed).
    ``image`` itself is never modified. Raises ``ValueError`` naming ``name`` for anything else.
    """
    arr = np.asarray(image)
    if arr.dtype == object or not (arr.dtype == bool or np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"`{name}` must be an array of numbers (bool, integer or float), got "
                         f"dtype {arr.dtype}.")
    if arr.ndim == 3 and arr.shape[2] == 4:
        raise ValueError(f"`{name}` has 4 channels (RGBA?), shape {arr.shape}: pass "
                         f"`{name}[..., :3]` or composite it over a background first; allowed: "
                         f"(h, w), (h, w, 1) or (h, w, 3).")
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3))):
        hint = " (a batch? pass one image; model.predict takes batches)" if arr.ndim == 4 else ""
        raise ValueError(f"`{name}` must have shape (h, w), (h, w, 1) or (h, w, 3), got shape "
                         f"{arr.shape}{hint}.")
    if 0 in arr.shape:
        raise ValueError(f"`{name}` is empty (shape {arr.shape}).")
    rows, cols, channels = (int(v) for v in shape)
    notes = []
    if arr.dtype == np.uint8:
        x = arr.astype(np.float64) / 255.0
    else:
        x = arr.astype(np.float64)  # a copy: the caller's array is never touched
    if not np.isfinite(x).all():
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    if x.ndim == 2:
        x = x[..., None]
    if x.shape[2] != channels:
        if x.shape[2] == 3 and channels == 1:
            x = (x @ np.array(LUMA))[..., None]
            notes.append("greyed the RGB image (0.299 R + 0.587 G + 0.114 B)")
        elif x.shape[2] == 1 and channels == 3:
            x = np.repeat(x, 3, axis=2)
            notes.append("repeated the grey image to 3 channels")
        else:
            raise ValueError(f"`{name}` has {x.shape[2]} channels, shape {arr.shape}; the model "
                             f"takes {channels}: pass 1 or {channels} channels.")
    if x.shape[:2] != (rows, cols):
        h, w = x.shape[:2]
        way = {True: "area average", False: "bilinear"}  # shrinking? per axis
        kinds = {way[n > m] for n, m in ((h, rows), (w, cols)) if n != m}
        how = kinds.pop() if len(kinds) == 1 else f"rows {way[h > rows]}, columns {way[w > cols]}"
        note = f"resized {h}x{w} to the model's {rows}x{cols} ({how})"
        if abs(h / w - rows / cols) > 1e-9:
            note += f", which changes its aspect ratio from {w / h:.3g} to {cols / rows:.3g}"
        notes.append(note)
        x = resize(x, rows, cols)
    return x.astype(np.float32), notes


def single_input(model, what):
    """The model's one input layer; ``what`` names the caller in the error."""
    if len(model.inputs) != 1:
        raise ValueError(f"{what} needs a model with one input, {model.name!r} has "
                         f"{len(model.inputs)}: {[layer.name for layer in model.inputs]}.")
    return model.inputs[0]


def predict_image(model, image, name="image"):
    """Prepare ``image`` for ``model``'s input (warning with the notes), then ``model.predict``."""
    layer = single_input(model, "predict(image)")
    x, notes = prepare_image(image, layer.shape, name)
    if notes:
        warnings.warn(f"`{name}` of shape {np.shape(image)}: " + "; ".join(notes) + ".",
                      UserWarning, stacklevel=3)
    return model.predict(x, fuse=False)  # for display: every layer's value is wanted


# ---------------------------------------------------------------------------------- the pad
class DrawingPad(anywidget.AnyWidget):
    """A canvas of ``model``'s input size to draw on, a Clear button and a bar chart of the output.

    ``target`` is a :class:`~tspwidget.ModelView` (``view.drawing_pad()``) or a model. Every stroke
    end predicts the drawing; every view of the model updates, and so does the chart, also when
    the model predicts from Python (``view.predict(image)``, a timeline's slider): the pad always
    shows the model's current input and output. Show it beside the view, e.g.
    ``ipywidgets.HBox([pad, view])``. The model needs one input and a vector output
    (class probabilities); the drawing is grey in [0, 1] (repeated for an RGB input).

    Parameters
    ----------
    labels : list of str
        One per output unit (default ``"0"``, ``"1"``, ...).
    size : int
        CSS pixels of the canvas's longer side (default 280: 10 per digits-model pixel).
    brush : float
        Brush radius in input pixels (solid inside ``brush``, fading to 0 one pixel further).
    """

    _esm = ESM
    rows = t.Int(help="Input rows (the canvas's pixels).").tag(sync=True)
    cols = t.Int(help="Input columns.").tag(sync=True)
    size = t.Int(280, help="CSS pixels of the canvas's longer side.").tag(sync=True)
    brush = t.Float(1.3, help="Brush radius in input pixels.").tag(sync=True)
    pixels = t.Bytes(help="The model's current input, rows*cols bytes (0..255), row-major.").tag(sync=True)
    probabilities = t.List(t.Float(), help="The model's output for it; [] when blank.").tag(sync=True)
    labels = t.List(t.Unicode(), help="One label per output.").tag(sync=True)
    caption = t.Unicode("", help="What the model says, in words.").tag(sync=True)
    stroke = t.Int(0, help="The last stroke number Python has answered.").tag(sync=True)

    def __init__(self, target, *, labels=None, size=280, brush=1.3, **kwargs):
        # A view is known by the model it shows (this module does not import the widget, which
        # imports it: no import circle).
        model = target if isinstance(target, core_model._BaseModel) else getattr(target, "model", None)
        if not isinstance(model, core_model._BaseModel):
            raise TypeError(f"`target` must be a ModelView or a tspwidget model, got {target!r}.")
        self.view = None if model is target else target
        if not model.is_initialized:
            raise ValueError(f"`target`: model {model.name!r} is not initialised: call model.init().")
        layer = single_input(model, "DrawingPad")
        if len(model.outputs) != 1 or len(model.outputs[0].output_shape) != 1:
            shapes = [o.output_shape for o in model.outputs]
            raise ValueError(f"`target`: DrawingPad charts one vector output (class scores); "
                             f"{model.name!r} outputs shapes {shapes}.")
        rows, cols, channels = layer.shape
        if channels not in (1, 3):
            raise ValueError(f"`target`: DrawingPad draws grey or RGB inputs; {layer.name!r} takes "
                             f"{channels} channels.")
        n = model.outputs[0].output_shape[0]
        labels = [str(i) for i in range(n)] if labels is None else list(labels)
        if len(labels) != n or not all(isinstance(s, str) for s in labels):
            raise ValueError(f"`labels` must be {n} strings (one per output of {model.name!r}), "
                             f"got {labels!r}.")
        if not isinstance(size, int) or isinstance(size, bool) or not 50 <= size <= 2000:
            raise ValueError(f"`size` must be an int of CSS pixels in 50..2000, got {size!r}.")
        if isinstance(brush, bool) or not isinstance(brush, (int, float)) or not 0.3 <= brush <= 10:
            raise ValueError(f"`brush` must be a radius in input pixels, 0.3..10, got {brush!r}.")
        super().__init__(rows=int(rows), cols=int(cols), size=size, brush=float(brush),
                         labels=labels, **kwargs)
        self.model = model
        self._input = layer
        self._stroke = 0  # the stroke being answered
        self.timings = deque(maxlen=1000)  # (stroke, seconds from buffer received to textures sent)
        model.add_observer(self._on_model_event)
        self.on_msg(self._on_message)
        self._show_model_state()

    def __repr__(self):
        return f"<DrawingPad for {self.model.name!r}: {self.rows}x{self.cols}>"

    # ------------------------------------------------------------------ Python API
    @property
    def image(self):
        """The picture on the pad: ``(rows, cols)`` uint8 (0..255), a copy."""
        return np.frombuffer(self.pixels, np.uint8).reshape(self.rows, self.cols).copy()

    def draw(self, pixels):
        """Put ``pixels`` ``(rows, cols)`` uint8 on the pad and predict it, as a stroke end does."""
        arr = np.asarray(pixels)
        if arr.shape != (self.rows, self.cols) or arr.dtype != np.uint8:
            raise ValueError(f"`pixels` must be a ({self.rows}, {self.cols}) uint8 array, got shape "
                             f"{arr.shape}, dtype {arr.dtype}.")
        self._predict(arr)

    def clear(self):
        """Blank the pad: the model predicts an empty input (the views go dark), the chart empties."""
        self._predict(np.zeros((self.rows, self.cols), np.uint8), blank=True)

    # ------------------------------------------------------------------ the browser's messages
    def _on_message(self, _widget, content, buffers):
        event = content.get("event") if isinstance(content, dict) else None
        if event not in ("stroke", "clear"):
            return
        t0 = time.perf_counter()
        self._stroke = int(content.get("stroke", self._stroke + 1))
        if event == "clear":
            self.clear()
            return
        if len(buffers) != 1 or memoryview(buffers[0]).nbytes != self.rows * self.cols:
            sizes = [memoryview(b).nbytes for b in buffers]  # a front-end bug: say so, predict nothing
            self.caption = (f"Could not read the stroke: one buffer of {self.rows * self.cols} bytes "
                            f"expected, got buffers of {sizes} bytes.")
            return
        self._predict(np.frombuffer(buffers[0], np.uint8).reshape(self.rows, self.cols))
        self.timings.append((self._stroke, time.perf_counter() - t0))

    def _predict(self, pixels, blank=False):
        x = pixels.astype(np.float32)[..., None] / np.float32(255)
        if self._input.shape[2] == 3:
            x = np.repeat(x, 3, axis=2)
        self._blank = blank
        try:
            # fuse=False: every view (and this pad) hears "predict" and reads every layer
            self.model.predict(x, fuse=False)
        finally:
            self._blank = False

    _blank = False

    # ------------------------------------------------------------------ following the model
    def _on_model_event(self, _model, event, _old, _new):
        if event in ("predict", "init"):
            self._show_model_state()

    def _show_model_state(self):
        """Pixels, chart and caption from the model's current input and output (one message)."""
        value = self._input.neural_value if self.model.is_initialized else None
        out = self.model.outputs[0].neural_value if value is not None else None
        with self.hold_sync():
            self.stroke = self._stroke
            if value is None:
                self.pixels = bytes(self.rows * self.cols)
                self.probabilities, self.caption = [], "Draw on the pad: each stroke end asks the model."
                return
            grey = np.clip(np.asarray(value, np.float64).mean(axis=2), 0, 1)
            self.pixels = np.rint(grey * 255).astype(np.uint8).tobytes()
            if self._blank or not grey.any():
                self.probabilities, self.caption = [], "Draw on the pad: each stroke end asks the model."
                return
            probs, note = _as_probabilities(np.asarray(out, np.float64))
            self.probabilities = [float(p) for p in probs]
            best = int(np.argmax(probs))
            self.caption = f"The model says {self.labels[best]} ({100 * probs[best]:.1f}%){note}."

    def close(self):
        if getattr(self, "model", None) is not None:
            self.model.remove_observer(self._on_model_event)
        super().close()


def _as_probabilities(out):
    """``out`` if it is a probability vector (softmax output), else its softmax, and a note."""
    if np.all(out >= 0) and abs(out.sum() - 1) < 1e-3:
        return out, ""
    e = np.exp(out - out.max())
    return e / e.sum(), " (softmax of the outputs)"
