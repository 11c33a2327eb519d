"""Activations by Keras name. NaN and Inf pass through as numpy propagates them.

``hard_sigmoid`` is Keras 3's ``relu6(x + 3) / 6``; Keras 2, tf-keras and TF.js define the same
name as ``clip(0.2 x + 0.5, 0, 1)``, which is ``hard_sigmoid_legacy`` here (loaders pick by file
version). ``gelu_erf`` (exact) and ``gelu_tanh`` are PyTorch's two GELUs; ``erf`` is the error
function (ConvNeXt's GELU is exported as an erf between scalings).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_choice

# np.clip with both bounds is one vectorised pass, 4x faster here than np.maximum (measured on
# numpy 2.4, AVX-512); both keep NaN as NaN.
_ZERO, _INF = np.float32(0), np.float32(np.inf)


def _relu(x):
    return np.clip(x, _ZERO, _INF, out=x)


def _relu6(x):
    return np.clip(x, _ZERO, np.float32(6), out=x)


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


def _erf(x):
    """The error function, Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7)."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (
        -1.453152027 + t * 1.061405429))))
    return (np.sign(x) * (1.0 - poly * np.exp(-x * x))).astype(x.dtype, copy=False)


def _gelu(x):
    """PyTorch's ``GELU()``: ``x * (1 + erf(x / sqrt 2)) / 2``."""
    return x * (0.5 * (1.0 + _erf(x * np.float32(0.7071067811865476))))


def _gelu_tanh(x):
    """PyTorch's ``GELU(approximate="tanh")``."""
    inner = np.float32(0.7978845608028654) * (x + np.float32(0.044715) * x * x * x)
    return x * (0.5 * (1.0 + np.tanh(inner)))


def _softmax(x):
    """Softmax over the last axis, shifted by the max for stability."""
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted, out=shifted)
    return np.divide(e, e.sum(axis=-1, keepdims=True), out=x)


ACTIVATIONS = {
    "linear": _linear, "relu": _relu, "relu6": _relu6, "sigmoid": _sigmoid, "tanh": _tanh,
    "softmax": _softmax, "hard_sigmoid": _hard_sigmoid,
    "hard_sigmoid_legacy": _hard_sigmoid_legacy, "hard_swish": _hard_swish, "swish": _swish,
    "erf": _erf, "gelu_erf": _gelu, "gelu_tanh": _gelu_tanh,
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


def relu(x, *, max_value=None, negative_slope=0.0, threshold=0.0, out=None):
    """Keras's ``ReLU`` layer: ``x`` above ``threshold`` (capped at ``max_value``), else
    ``negative_slope * (x - threshold)``. ``out`` (e.g. ``x``) takes the common case's result."""
    if negative_slope == 0 and threshold == 0:  # the common case: one pass
        top = _INF if max_value is None else x.dtype.type(max_value)
        return np.clip(x, x.dtype.type(0), top, out=out)
    with np.errstate(invalid="ignore"):
        result = np.where(x >= threshold, x, negative_slope * (x - threshold)).astype(x.dtype)
    if max_value is not None:
        np.minimum(result, max_value, out=result)
    return result
