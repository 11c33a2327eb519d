"""``Timeline``: scrub through training checkpoints and watch a view's maps change in place.

Moving the slider copies one checkpoint's weights into the view's model (same architecture:
layer names, types and weight shapes are checked once, when the timeline is made) and re-predicts
the model's current input. Every view of the model then refreshes its textures; nothing is rebuilt.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .core import model as core_model


def _weights_of(checkpoint, index):
    if isinstance(checkpoint, core_model._BaseModel):
        if not checkpoint.is_initialized:
            raise ValueError(f"`checkpoints[{index}]` (model {checkpoint.name!r}) is not initialised.")
        return checkpoint.get_weights(), {layer.name: layer.layer_type for layer in checkpoint.layers}
    if isinstance(checkpoint, dict):
        return checkpoint, None
    raise TypeError(f"`checkpoints[{index}]` must be a tspwidget model or a get_weights() dict "
                    f"{{layer name: {{role: array}}}}, got {type(checkpoint).__name__}.")


def check_checkpoint(model, checkpoint, index):
    """``checkpoint``'s weights as own float32 copies, after checking they fit ``model``:
    the same layers (names and types) with the same weight roles and shapes."""
    weights, types = _weights_of(checkpoint, index)
    where = f"`checkpoints[{index}]`"
    if types is not None:
        ours = {layer.name: layer.layer_type for layer in model.layers}
        if types != ours:
            missing, extra = sorted(set(ours) - set(types)), sorted(set(types) - set(ours))
            retyped = sorted(n for n in set(ours) & set(types) if ours[n] != types[n])
            raise ValueError(f"{where} is not the same architecture as {model.name!r}: layers "
                             f"missing there {missing}, extra there {extra}, of another type "
                             f"{[(n, types[n], ours[n]) for n in retyped]}.")
    expected = model.get_weights()
    if set(weights) != set(expected):
        raise ValueError(f"{where} has weights for layers {sorted(weights)}; {model.name!r} needs "
                         f"exactly {sorted(expected)}.")
    out = {}
    for name, roles in expected.items():
        given = weights[name]
        if not isinstance(given, dict) or set(given) != set(roles):
            got = sorted(given) if isinstance(given, dict) else type(given).__name__
            raise ValueError(f"{where}: layer {name!r} has weights {got}, {model.name!r} needs "
                             f"{sorted(roles)}.")
        out[name] = {}
        for role, arr in roles.items():
            value = np.asarray(given[role])
            if value.shape != arr.shape:
                raise ValueError(f"{where}: layer {name!r} `{role}` has shape {value.shape}, "
                                 f"{model.name!r} needs {arr.shape}.")
            out[name][role] = np.array(value, np.float32)  # own copy
    return out


class Timeline(widgets.VBox):
    """An epoch slider (with a play button) over ``checkpoints`` for ``view``'s model.

    Use :meth:`tspwidget.ModelView.timeline`. ``epochs`` label the checkpoints (default 0, 1, ...).
    If the model's weights already equal one checkpoint's, the slider starts there; otherwise the
    last checkpoint is applied at once, so the slider never shows an epoch the model is not at.
    ``timeline.epoch`` reads and sets the epoch shown.
    """

    def __init__(self, view, checkpoints, epochs=None, *, description="epoch", interval=1200):
        # A view is known by the model it shows (this module does not import the widget, which
        # imports it: no import circle).
        if isinstance(view, core_model._BaseModel) or not isinstance(getattr(view, "model", None),
                                                                        core_model._BaseModel):
            raise TypeError(f"`view` must be a ModelView, got {view!r}.")
        if isinstance(checkpoints, (str, bytes, dict)) or not hasattr(checkpoints, "__len__"):
            raise TypeError(f"`checkpoints` must be a list of models or weight dicts, got "
                            f"{type(checkpoints).__name__}.")
        checkpoints = list(checkpoints)
        if not checkpoints:
            raise ValueError("`checkpoints` is empty: give at least one model or weight dict.")
        epochs = list(range(len(checkpoints))) if epochs is None else list(epochs)
        if len(epochs) != len(checkpoints):
            raise ValueError(f"`epochs` must label each of the {len(checkpoints)} checkpoints, got "
                             f"{len(epochs)}: {epochs}.")
        if len(set(map(str, epochs))) != len(epochs):
            raise ValueError(f"`epochs` must be distinct, got {epochs}.")
        self.view, self.model = view, view.model
        self.epochs = tuple(epochs)
        self._weights = [check_checkpoint(self.model, c, i) for i, c in enumerate(checkpoints)]
        match = self._matching()
        start = match if match is not None else len(checkpoints) - 1
        self.slider = widgets.SelectionSlider(
            options=[(str(e), i) for i, e in enumerate(self.epochs)], index=start,
            description=description, continuous_update=True, style={"description_width": "initial"},
            layout=widgets.Layout(width="420px"))
        self.play = widgets.Play(value=start, min=0, max=len(checkpoints) - 1, interval=interval,
                                 description="play the training")
        widgets.jslink((self.play, "value"), (self.slider, "index"))
        self.caption = widgets.HTML()
        super().__init__(children=[widgets.HBox([self.play, self.slider]), self.caption])
        self.add_class("tsp-timeline")
        self.index = None
        self._apply(start)
        self.slider.observe(self._on_index, "index")

    def __repr__(self):
        return f"<Timeline over epochs {list(self.epochs)} of {self.model.name!r}>"

    def _matching(self):
        current = self.model.get_weights()
        for i, weights in enumerate(self._weights):
            if all(np.array_equal(weights[n][r], current[n][r]) for n in weights for r in weights[n]):
                return i
        return None

    @property
    def epoch(self):
        """The epoch the model is at."""
        return self.epochs[self.index]

    @epoch.setter
    def epoch(self, value):
        labels = [str(e) for e in self.epochs]
        if str(value) not in labels:
            raise ValueError(f"`epoch` must be one of {list(self.epochs)}, got {value!r}.")
        self.slider.index = labels.index(str(value))

    def _on_index(self, change):
        self._apply(change["new"])

    def _apply(self, index):
        """Copy checkpoint ``index``'s weights in and re-predict the current input."""
        model = self.model
        if index != self.index:
            model.set_weights(self._weights[index])
            self.index = index
            model._notify("weights", None, None)  # kernel views and pads follow the weights
            current = [layer.neural_value for layer in model.inputs]
            if all(v is not None for v in current):
                # views refresh and read every layer: an unfused pass computes each once
                model.predict(current[0] if len(current) == 1 else current, fuse=False)
        self.caption.value = self._caption()

    def _caption(self):
        model = self.model
        text = f"epoch <b>{html.escape(str(self.epoch))}</b> (checkpoint {self.index + 1} of {len(self.epochs)})"
        out = model.outputs[0].neural_value if len(model.outputs) == 1 else None
        if model.inputs[0].neural_value is None:
            return text + ": no input yet (view.predict(image), or draw on a pad)."
        if out is not None and out.ndim == 1 and out.size > 1:
            best = int(np.argmax(out))
            if np.all(out >= 0) and abs(float(out.sum()) - 1) < 1e-3:  # probabilities
                text += f": the model says {best} ({100 * float(out[best]):.1f}%)"
            else:
                text += f": the largest output is {best} ({float(out[best]):.4g})"
        return text
