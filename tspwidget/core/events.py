"""A tiny observer hook, so a view can follow a layer without the core importing any widget code."""

from __future__ import annotations

import weakref


class Observable:
    """Objects that tell subscribers when one of their displayed attributes changes.

    Callbacks are called as ``fn(obj, attribute, old, new)``. Bound methods are held weakly: a
    view that is garbage-collected stops listening by itself instead of being kept alive by the
    layer it shows.
    """

    def __init__(self):
        self._observers = []

    def add_observer(self, fn):
        """Call ``fn(obj, attribute, old, new)`` after every change; returns ``fn``."""
        if not callable(fn):
            raise TypeError(f"`fn` must be callable, got {fn!r}.")
        ref = weakref.WeakMethod(fn) if hasattr(fn, "__self__") else (lambda fn=fn: fn)
        self._observers.append(ref)
        return fn

    def remove_observer(self, fn):
        """Stop calling ``fn``; unknown callbacks are ignored."""
        self._observers = [r for r in self._observers if r() is not None and r() != fn]

    def _notify(self, attribute, old, new):
        alive = []
        for ref in self._observers:
            fn = ref()
            if fn is not None:
                alive.append(ref)
                fn(self, attribute, old, new)
        self._observers[:] = alive
