"""Which layers a view draws, as what: hidden and folded layers, labels, and the links between.

A model file typically follows every convolution with BatchNorm and an activation (and, before a
stride-2 depthwise layer, a padding), and a residual ``Add`` with an activation: drawn one by one
they make a deep model three times taller without showing anything new. ``fold=True`` draws such a
chain as one node, the convolution's (or the Add's; a padding that only feeds a convolution joins
the convolution after it; a squeeze-excitation gate and its Multiply join the map they scale),
whose label lists what was folded (``+BN +ReLU6 +SE``); the folded layers still compute, and their
outputs stay available (``folded_values``). ``hide`` drops layers by type or name: the layers
around them close up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layers.conv import DepthwiseConv2d
from .layers.merge import Concatenate, Multiply


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


def short_labels(diagram):
    """Per drawn layer, its label when the model is crowded: its name, less the dotted prefix
    that all the side-by-side layers of its level share (SqueezeNet's ``features.3.expand1x1``
    and ``features.3.expand3x3`` become ``expand1x1`` and ``expand3x3``: the Concat below them
    is ``features.3``). Side by side, long names made each row twice as wide as the model."""
    by_level = {}
    for i, level in enumerate(diagram.levels):
        by_level.setdefault(level, []).append(i)
    out = [layer.name for layer in diagram.layers]
    for members in by_level.values():
        if len(members) < 2:
            continue
        parts = [out[i].split(".") for i in members]
        common = 0
        while all(len(p) > common + 1 and p[common] == parts[0][common] for p in parts):
            common += 1
        for i, p in zip(members, parts):
            out[i] = ".".join(p[common:])
    return out


@dataclass(frozen=True)
class Diagram:
    """The drawn layers in model order, what each one folds, and each one's drawn inputs."""

    layers: tuple  # the drawn layers
    folded: dict  # drawn layer name -> tuple of the layers folded into it, in order
    inputs: tuple  # per drawn layer: indexes (into ``layers``) of the drawn layers it reads
    levels: tuple  # per drawn layer: its level (longest path from an input, drawn layers only)
    owner: dict  # every layer name -> name of the drawn layer that shows it (None if hidden)


@dataclass(frozen=True)
class Gate:
    """A squeeze-excitation gate (pool -> 1x1 convs -> sigmoid, scaling the channels of the map it
    came from) listed in its ``Multiply``'s node as ``+SE``: six tiny layers drawn one by one made
    EfficientNet and MobileNetV3 twice as deep on screen, with nothing to see in 1x1 maps."""

    name: str
    layers: tuple  # the gate's own layers, in model order
    output_shape: tuple  # the Multiply's
    fold_label = "SE"
    layer_type = "SqueezeExcitation"
    neural_value = None  # (1, 1, c) values: no pixel of the map's shape to show
    inbound_layers = ()


def _gates(layers, consumers, hide):
    """``{id(layer): (Multiply, Gate)}`` for the layers of every squeeze-excitation gate and its
    Multiply."""
    found = {}
    for m in layers:
        if not isinstance(m, Multiply) or len(m.inbound_layers) != 2 or m.name in hide:
            continue
        for g, x in (m.inbound_layers, m.inbound_layers[::-1]):
            chain, cur = [], g
            while (cur is not x and not cur.is_input and len(cur.inbound_layers) == 1
                   and len(consumers[id(cur)]) == 1 and len(chain) < 8):
                chain.append(cur)
                if cur.inbound_layers[0] is x:
                    break
                cur = cur.inbound_layers[0]
            shape = g.output_shape
            if not chain or chain[-1].inbound_layers[0] is not x or any(
                    c.name in hide or c.layer_type in hide for c in chain):
                continue
            if len(shape) == 3 and shape[:2] == (1, 1):  # one gate value per channel
                gate = Gate(f"{m.name}/SE", tuple(chain[::-1]), m.output_shape)
                found.update((id(c), (m, gate)) for c in chain)
                found[id(m)] = (m, gate)
                break
    return found


def _takes_forward(layer, reader, hide):
    """May ``reader`` draw ``layer`` (a padding or a channel split, its only reader's input)
    inside its node? A depthwise layer maps each of its maps to one drawn input map, so its
    drawn input must have its input's channels: a split stays a node there."""
    if not reader.fold_host or reader.name in hide or reader.layer_type in hide:
        return False
    if layer.fold_label == "split":
        return not isinstance(reader, DepthwiseConv2d) and (
            len(reader.inbound_layers) == 1 or isinstance(reader, Concatenate))
    return len(reader.inbound_layers) == 1


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
    gates = _gates(layers, consumers, hide) if fold else {}
    for layer in layers:
        if layer.name in hide or layer.layer_type in hide:
            owner[id(layer)] = None
            continue
        if id(layer) in gates:
            # A squeeze-excitation gate is drawn inside its Multiply, and the Multiply inside the
            # node of the map it scales when nothing else reads that map.
            m, gate = gates[id(layer)]
            x = next(p for p in m.inbound_layers if p is not gate.layers[-1])
            host = owner.get(id(x))
            into = host if (host is not None and host.fold_host and host.name not in hide
                            and len(consumers[id(x)]) == 2) else m
            if layer is m and into is m:
                owner[id(m)] = m
                drawn.append(m)
            else:
                owner[id(layer)] = into
                if gate not in folded.get(into.name, ()):
                    folded[into.name] = folded.get(into.name, ()) + (gate,)
            continue
        if id(layer) in owner:  # a padding folded into the convolution after it (below)
            continue
        after = consumers[id(layer)]
        if fold and layer.fold_forward and len(after) == 1 and _takes_forward(layer, after[0], hide):
            # A padding that only feeds a convolution (PyTorch's symmetric pads of a stride-2
            # conv, exported as Pad + conv) is drawn inside that convolution's node; so is
            # ShuffleNet's channel split, inside the convolution or the Concat it feeds.
            owner[id(layer)] = after[0]
            folded[after[0].name] = folded.get(after[0].name, ()) + (layer,)
            continue
        src = layer.inbound_layers[0] if len(layer.inbound_layers) == 1 else None
        host = owner.get(id(src)) if src is not None else None
        if (fold and layer.fold_label is not None and host is not None and host.fold_host
                and len(consumers[id(src)]) == 1):
            owner[id(layer)] = host
            folded[host.name] = folded.get(host.name, ()) + (layer,)
            continue
        owner[id(layer)] = layer
        drawn.append(layer)
    index = {id(layer): i for i, layer in enumerate(drawn)}

    def drawn_sources(layer, seen, me):
        found = []
        for src in layer.inbound_layers:
            host = owner.get(id(src))
            if host is not None and host is not me:
                found.append(index[id(host)])
            elif id(src) not in seen:  # hidden, or inside ``me`` (a gate): look through it
                seen.add(id(src))
                found += drawn_sources(src, seen, me)
        return found

    inputs = tuple(tuple(dict.fromkeys(drawn_sources(layer, set(), layer))) for layer in drawn)
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
