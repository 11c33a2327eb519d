"""Which layers a view draws, as what: hidden and folded layers, labels, and the links between.

A model file typically follows every convolution with BatchNorm and an activation (and, before a
stride-2 depthwise layer, a padding), and a residual ``Add`` with an activation: drawn one by one
they make a deep model three times taller without showing anything new. ``fold=True`` draws such a
chain as one node, the convolution's (or the Add's; a padding that only feeds a convolution joins
the convolution after it),
whose label lists what was folded (``+BN +ReLU6``); the folded layers still compute, and their
outputs stay available (``folded_values``). ``hide`` drops layers by type or name: the layers
around them close up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def short_name(layer):
    """How a folded layer is listed in its node's label: ``BN``, ``ReLU6``, ``pad``."""
    return layer.fold_label or layer.layer_type


def label_text(layer, folded=()):
    """Name, type, configuration, folded layers and output shape; for a vector its top 3."""
    config = f" {layer.config_text}" if layer.config_text else ""
    extra = "".join(f" +{short_name(f)}" for f in folded)
    after = [f for f in folded if f not in layer.inbound_layers]  # a padding before it: not its shape
    shape = after[-1].output_shape if after else layer.output_shape
    text = f"{layer.name} · {layer.layer_type}{config}{extra} · {'x'.join(map(str, shape))}"
    values = layer.neural_value
    if values is not None and values.ndim == 1 and np.isfinite(values).all():
        top = np.argsort(values)[::-1][:3]
        text += " · top " + ", ".join(f"#{i} {values[i]:.3g}" for i in top)
    return text


@dataclass(frozen=True)
class Diagram:
    """The drawn layers in model order, what each one folds, and each one's drawn inputs."""

    layers: tuple  # the drawn layers
    folded: dict  # drawn layer name -> tuple of the layers folded into it, in order
    inputs: tuple  # per drawn layer: indexes (into ``layers``) of the drawn layers it reads
    levels: tuple  # per drawn layer: its level (longest path from an input, drawn layers only)
    owner: dict  # every layer name -> name of the drawn layer that shows it (None if hidden)


def _consumers(layers):
    out = {id(layer): [] for layer in layers}
    for layer in layers:
        for src in layer.inbound_layers:
            out[id(src)].append(layer)
    return out


def build(model, *, hide=(), fold=True):
    """The ``Diagram`` of ``model``: ``hide`` names layer types or names not to draw."""
    layers = model.layers
    hide = set(hide)
    consumers = _consumers(layers)
    owner = {}  # id(layer) -> the drawn layer it is shown by / folded into
    folded = {}
    drawn = []
    for layer in layers:
        if layer.name in hide or layer.layer_type in hide:
            owner[id(layer)] = None
            continue
        if id(layer) in owner:  # a padding folded into the convolution after it (below)
            continue
        src = layer.inbound_layers[0] if len(layer.inbound_layers) == 1 else None
        host = owner.get(id(src)) if src is not None else None
        if (fold and layer.fold_label is not None and host is not None and host.fold_host
                and len(consumers[id(src)]) == 1):
            owner[id(layer)] = host
            folded[host.name] = folded.get(host.name, ()) + (layer,)
            continue
        after = consumers[id(layer)]
        if (fold and layer.fold_label == "pad" and len(after) == 1 and after[0].fold_host
                and len(after[0].inbound_layers) == 1 and after[0].name not in hide
                and after[0].layer_type not in hide):
            # A padding that only feeds a convolution (PyTorch's symmetric pads of a stride-2
            # conv, exported as Pad + conv) is drawn inside that convolution's node.
            owner[id(layer)] = after[0]
            folded[after[0].name] = (layer,)
            continue
        owner[id(layer)] = layer
        drawn.append(layer)
    index = {id(layer): i for i, layer in enumerate(drawn)}

    def drawn_sources(layer, seen):
        found = []
        for src in layer.inbound_layers:
            host = owner.get(id(src))
            if host is not None and host is not layer:
                found.append(index[id(host)])
            elif id(src) not in seen:  # hidden: look through it
                seen.add(id(src))
                found += drawn_sources(src, seen)
        return found

    inputs = tuple(tuple(dict.fromkeys(drawn_sources(layer, set()))) for layer in drawn)
    levels = []
    for i in range(len(drawn)):
        levels.append(max((levels[j] for j in inputs[i]), default=-1) + 1)
    names = {layer.name: (owner[id(layer)].name if owner[id(layer)] is not None else None)
             for layer in layers}
    return Diagram(tuple(drawn), folded, inputs, tuple(levels), names)


def drawn_input(diagram, layer):
    """Name of the drawn layer that shows ``layer``'s (first) input, looking through a padding
    folded into ``layer`` itself; None if that input is hidden."""
    src = layer.inbound_layers[0]
    while diagram.owner.get(src.name) == layer.name and src.inbound_layers:
        src = src.inbound_layers[0]
    return diagram.owner.get(src.name)


def folded_values(diagram, name, channel, row, col):
    """``{folded layer name: value}`` at one map pixel of a drawn layer, for the folded layers
    whose output has the drawn layer's shape (a padding changes it: left out)."""
    host = next(layer for layer in diagram.layers if layer.name == name)
    out = {}
    for layer in diagram.folded.get(name, ()):
        values = layer.neural_value
        if values is not None and values.shape == host.output_shape:
            out[layer.name] = float(values[row, col, channel])
    return out
