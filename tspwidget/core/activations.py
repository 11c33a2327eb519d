"""Activations by Keras name. NaN and Inf pass through as numpy propagates them.

``hard_sigmoid`` is Keras 3's ``relu6(x + 3) / 6``; Keras 2, tf-keras and TF.js define the same name
as ``clip(0.2 x + 0.5, 0, 1)``, which is ``hard_sigmoid_legacy`` here (loaders pick by file version).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_choice


def _relu(x):
    return np.maximum(x, 0, out=x)


def _relu6(x):
    return np.minimum(np.maximum(x, 0, out=x), 6, out=x)


def _linear(x):
    return x


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return np.divide(1, 1 + np.exp(-x, out=x), out=x)


def _tanh(x):
    return np.tanh(x, out=x)


def _hard_sigmoid(x):
    return np.divide(np.clip(x + 3, 0, 6, out=x), 6, out=x)


def _hard_sigmoid_legacy(x):
    return np.clip(0.2 * x + 0.5, 0, 1, out=x)


def _hard_swish(x):
    return x * _hard_sigmoid(x.copy())


def _swish(x):
    return x * _sigmoid(x.copy())


def _softmax(x):
    """Softmax over the last axis, shifted by the max for stability."""
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted, out=shifted)
    return np.divide(e, e.sum(axis=-1, keepdims=True), out=x)


ACTIVATIONS = {
    "linear": _linear, "relu": _relu, "relu6": _relu6, "sigmoid": _sigmoid, "tanh": _tanh,
    "softmax": _softmax, "hard_sigmoid": _hard_sigmoid,
    "hard_sigmoid_legacy": _hard_sigmoid_legacy, "hard_swish": _hard_swish, "swish": _swish,
}
ALIASES = {"silu": "swish", "hard_silu": "hard_swish"}  # Keras 3's spellings of the same functions


def as_activation(value):
    """Return a known activation name (``None`` means "linear")."""
    if value is None:
        return "linear"
    value = ALIASES.get(value, value) if isinstance(value, str) else value
    return as_choice(value, "activation", tuple(ACTIVATIONS))


def activate(x, name):
    """Apply activation ``name`` to ``x`` (a fresh array it may overwrite) and return the result."""
    return ACTIVATIONS[name](x)


def relu(x, *, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras's ``ReLU`` layer: ``x`` above ``threshold`` (capped at ``max_value``), else
    ``negative_slope * (x - threshold)``."""
    if negative_slope == 0 and threshold == 0:  # the common case: two in-place passes
        out = np.maximum(x, 0)
    else:
        with np.errstate(invalid="ignore"):
            out = np.where(x >= threshold, x, negative_slope * (x - threshold)).astype(x.dtype)
    if max_value is not None:
        np.minimum(out, max_value, out=out)
    return out
