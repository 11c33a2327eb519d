"""Argument normalisation shared by the op, the layers and (later) the widget.

Every checker names the argument, echoes the value it got and says what is allowed, so the
same mistake gives the same message wherever it is made (Keras's ``standardize_tuple`` style).
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

PADDINGS = ("valid", "same")


def as_int(value, name, *, minimum=1):
    """Return ``value`` as a Python int >= ``minimum``; bools and floats are refused."""
    if type(value) is int and value >= minimum:  # the common case, without the ABC checks
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an integer >= {minimum}, got {value!r} of type {type(value).__name__}."
        )
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value}.")
    return value


def as_pair(value, name, *, minimum=1):
    """Return ``value`` (an int or a pair of ints) as a tuple ``(rows, cols)``."""
    if type(value) is tuple and len(value) == 2 and all(type(v) is int for v in value):
        if value[0] >= minimum and value[1] >= minimum:
            return value
    if isinstance(value, (str, bytes)) or not (
        isinstance(value, numbers.Integral) or np.iterable(value)
    ):
        raise TypeError(
            f"`{name}` must be an integer or a pair of integers (rows, cols), got {value!r}."
        )
    if isinstance(value, numbers.Integral):
        v = as_int(value, name, minimum=minimum)
        return (v, v)
    items = tuple(value)
    if len(items) != 2:
        raise ValueError(
            f"`{name}` must be an integer or a pair of integers (rows, cols), "
            f"got {value!r} with {len(items)} items."
        )
    return tuple(as_int(v, name, minimum=minimum) for v in items)


def as_padding(value, name="padding"):
    """Return ``"valid"`` or ``"same"`` from any capitalisation of them."""
    if not isinstance(value, str):
        raise TypeError(f'`{name}` must be "valid" or "same", got {value!r}.')
    lowered = value.lower()
    if lowered not in PADDINGS:
        raise ValueError(f'`{name}` must be "valid" or "same" (any case), got {value!r}.')
    return lowered


def as_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices`` (strings, compared exactly)."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise (ValueError if isinstance(value, str) else TypeError)(
            f"`{name}` must be one of {allowed}, got {value!r}."
        )
    return value


def as_shape(value, name, *, length=3):
    """Return a tuple of ``length`` positive ints, e.g. ``(h, w, c)``."""
    if isinstance(value, (str, bytes)) or not np.iterable(value):
        raise TypeError(f"`{name}` must be a tuple of {length} positive integers, got {value!r}.")
    items = tuple(value)
    if len(items) != length:
        raise ValueError(
            f"`{name}` must be a tuple of {length} positive integers, got {value!r} "
            f"with {len(items)} items."
        )
    return tuple(as_int(v, name) for v in items)


def as_positive_number(value, name):
    """Return a finite real number > 0 (e.g. a time in ms or a size ratio)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number > 0, got {value!r}.")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a finite number > 0, got {value!r}.")
    return value


def as_float_array(value, name):
    """Return ``value`` as a float ndarray without touching the caller's array.

    float32 and float64 keep their dtype, integers become float32 (as Keras casts them);
    bools, complex numbers and objects are refused rather than silently converted.
    """
    arr = np.asarray(value)
    if arr.dtype.kind in "iu":
        return arr.astype(np.float32)
    if arr.dtype.kind == "f":
        if arr.dtype not in (np.float32, np.float64):
            return arr.astype(np.float32)
        return arr
    raise TypeError(
        f"`{name}` must hold real numbers (float or integer), got an array of dtype {arr.dtype}."
    )
