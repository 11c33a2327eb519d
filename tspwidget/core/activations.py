"""Elementwise activations by Keras name. NaN and Inf pass through as numpy propagates them."""

from __future__ import annotations

import numpy as np

from ._validation import as_choice


def _relu(x):
    return np.maximum(x, 0, out=x)


def _relu6(x):
    return np.minimum(np.maximum(x, 0, out=x), 6, out=x)


def _linear(x):
    return x


ACTIVATIONS = {"linear": _linear, "relu": _relu, "relu6": _relu6}


def as_activation(value):
    """Return a known activation name (``None`` means "linear")."""
    return "linear" if value is None else as_choice(value, "activation", tuple(ACTIVATIONS))


def activate(x, name):
    """Apply activation ``name`` in place on ``x`` (a fresh output array) and return it."""
    return ACTIVATIONS[name](x)
