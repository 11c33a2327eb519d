"""How ``Model.predict`` runs a graph fast: BatchNorm folded into the convolution before it, the
activations after a convolution (or an Add) computed in its output buffer, and a zero padding that
feeds only a convolution done inside that convolution.

A fused chain produces only its last layer's output; the layers inside it (padding, convolution,
BatchNorm) get their values on demand, recomputed unfused from the first sample of their inputs
(``Layer._defer``), so the view, the inspector and ``neural_value`` show exactly each layer's own
output while a batch pays for one pass. The view asks for all of them, so an unfused pass
(``fuse=False``) is what a predict made for display uses.

A chain writes a single sample into an array it keeps from the last predict when nothing else
holds that array any more (``_Local.take``): results and values the user kept are never overwritten.
"""

from __future__ import annotations

import sys
import threading
from collections import defaultdict

import numpy as np

from .activations import activate
from .layers.conv import _Conv
from .layers.elementwise import Activation, BatchNorm, Padding2d
from .layers.merge import Add
from .ops import add_bias


class Step:
    """A layer run as it is."""

    def __init__(self, layer):
        self.layers = (layer,)
        self.output = layer

    def run(self, values):
        return self.output._forward([values[id(p)] for p in self.output._inbound])


class _Local(threading.local):
    """A chain's state in one thread: its output array, and what it prepared for an input shape
    and weights (``key``): the convolution as a ``run(x, out)``, the output shape, the bias."""

    key = run = out_shape = bias = None
    array = None

    def take(self, shape):
        """An output array: the one kept from the last predict when nothing else holds it.

        Why: a fresh multi-MB array can cost more in page faults than the layer's arithmetic
        (see ../shared/reference/performance.md). A result the user kept, or any view of it (a
        layer's value is one; a view references the array it looks at), makes the next predict
        take a new array and leave that one alone."""
        if shape[0] != 1:  # batches: the arrays would stay alive, N times the size, after predict
            return np.empty(shape, np.float32)
        if self.array is None or self.array.shape != shape or self._references() > _UNHELD:
            self.array = np.empty(shape, np.float32)
        return self.array

    def _references(self):
        array = self.array
        return sys.getrefcount(array)


def _unheld():
    """What ``_Local._references`` counts when nothing else holds the array (the attribute, the
    local, getrefcount's argument), measured on this interpreter rather than assumed: newer
    CPythons skip counting some borrowed references, and a count one too low would overwrite an
    array the user holds."""
    probe = _Local()
    probe.array = np.empty(1, np.float32)
    return probe._references()


_UNHELD = _unheld()


class _Chain:
    """[padding] -> convolution -> [BatchNorm] -> activations*, or Add -> activations*."""

    def __init__(self, pad, head, bn, acts):
        self.pad, self.head, self.bn, self.acts = pad, head, bn, acts
        self.layers = tuple(x for x in (pad, head, bn) if x is not None) + tuple(acts)
        self.output = self.layers[-1]
        self._folded_from = self._folded = None
        self._local = _Local()
        self._pads = self.pad.padding if self.pad is not None else ((0, 0), (0, 0))
        self._source = id((pad or head)._inbound[0])

    def _weights(self):
        """The head's kernel and bias with the BatchNorm folded in, refolded only when a weight
        array was replaced (arrays are read-only: replacing is the only way they change)."""
        head, bn = self.head, self.bn
        if bn is None:
            return head._kernel, head._bias
        source = (head._kernel, head._bias, *bn.affine_weights())
        if self._folded_from is None or any(a is not b for a, b in zip(source, self._folded_from)):
            self._folded = head.folded_weights(*bn.affine())
            self._folded_from = source
        return self._folded

    def _prepare(self, local, shape, kernel, bias):
        head = self.head
        pads, out_hw = head.window(shape[1:3], self._pads)
        local.run = head.runner(shape, kernel, pads, out_hw)
        local.out_shape = (shape[0], *out_hw, head.output_shape[2])
        # The bias repeated along an output row: numpy's inner loop is then the row, not C long.
        local.bias = None if bias is None else np.tile(bias, out_hw[1])
        local.key = (shape, kernel, bias)

    def run(self, values):
        head, local = self.head, self._local
        if isinstance(head, Add):
            inputs = [values[id(p)] for p in head._inbound]
            y = np.add(inputs[0], inputs[1], out=local.take(inputs[0].shape))
            for x in inputs[2:]:
                y += x
        else:
            x = values[self._source]
            kernel, bias = self._weights()
            key = local.key
            if key is None or key[0] != x.shape or key[1] is not kernel or key[2] is not bias:
                self._prepare(local, x.shape, kernel, bias)
            y = local.take(local.out_shape)
            local.run(x, y)
            add_bias(y, local.bias)
            if self.bn is None and head.activation != "linear":
                y = activate(y, head.activation)  # in place
        for act in self.acts:
            y = act.apply_in_place(y)
        return y


def plan(layers, outputs):
    """The steps that compute ``layers`` (in graph order); ``outputs`` must stay materialised."""
    consumers = defaultdict(list)
    for layer in layers:
        for p in layer._inbound:
            consumers[id(p)].append(layer)
    kept = {id(layer) for layer in outputs}

    def only_next(layer, kind):
        """The one consumer of ``layer`` if it is a ``kind`` and ``layer`` need not be kept."""
        after = consumers[id(layer)]
        if len(after) == 1 and isinstance(after[0], kind) and id(layer) not in kept:
            return after[0]
        return None

    steps, taken = [], set()
    for layer in layers:
        if id(layer) in taken or layer.is_input:
            continue
        chain = None
        if isinstance(layer, Padding2d):
            conv = only_next(layer, _Conv)
            if conv is not None and len(conv._inbound) == 1:
                chain = _grow(layer, conv, only_next)
        elif isinstance(layer, (_Conv, Add)):
            chain = _grow(None, layer, only_next)
        step = chain if chain is not None else Step(layer)
        taken.update(id(x) for x in step.layers)
        steps.append(step)
    return steps


def _grow(pad, head, only_next):
    bn = None
    if isinstance(head, _Conv) and head.activation == "linear":
        bn = only_next(head, BatchNorm)
    acts, last = [], bn or head
    while (act := only_next(last, Activation)) is not None:
        acts.append(act)
        last = act
    if pad is None and bn is None and not acts and not isinstance(head, _Conv):
        return None
    return _Chain(pad, head, bn, acts)
