"""Pure geometry of the 3D view: where maps, aggregates, close buttons and layers sit.

Conventions (TensorSpace's, with its bugs fixed): y is up and layers stack along +y; a layer's maps
lie flat in its x-z plane. A map of ``h`` rows and ``w`` columns is ``w * unit`` wide along x and
``h * unit`` deep along z, with row 0 at the far edge (-z) and column 0 at the left (-x), so the
picture reads upright from the front and above. ``unit`` is ``100 / max(h, w)`` of the model input
(``ModelInitWidth = 100`` in TensorSpace's Constant.js).

Everything here returns plain numbers and numpy arrays; the scene turns them into meshes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MODEL_WIDTH = 100.0  # world width of the input picture (TensorSpace's ModelInitWidth)
LAYER_PITCH = 80.0  # vertical distance between consecutive layers (TensorSpace: 50, which
# makes closed layers hide each other from any camera above them)
MAP_GAP = 0.5  # gap between open maps, in map sizes (TensorSpace's FeatureMapIntervalRatio)
GROUP_INNER_GAP = 0.15  # gap between the M maps made from one input channel (depthwise)
GROUP_OUTER_GAP = 0.7  # gap between those groups: visibly wider, so groups read as units
CLOSE_BUTTON_BASE = 0.03  # button radius per unit of open-grid depth (TensorSpace's CloseButtonRatio)
CLOSE_BUTTON_MIN = 0.35  # ... but at least this many map depths, so small grids get a usable button
LEVEL_GAP = 50.0  # gap between side-by-side layers of one level (functional models)


STRIP_COLUMNS = 64  # a vector is drawn as rows of at most this many cells


def display_shape(shape):
    """``(rows, cols, channels)`` a layer output is drawn as.

    ``(h, w, c)`` stays; ``(a, b)`` is one a x b map; a vector of n values (Dense, Flatten,
    global pooling) and anything else is one strip of cells, wrapped at ``STRIP_COLUMNS``.
    """
    shape = tuple(shape)
    if len(shape) == 3:
        return shape
    if len(shape) == 2:
        return (*shape, 1)
    n = int(np.prod(shape))
    cols = min(n, STRIP_COLUMNS)
    return (-(-n // cols), cols, 1)


def grid_shape(n, cell_w=1.0, cell_h=1.0):
    """``(cols, rows)`` of a near-square grid for ``n`` cells of size ``cell_w x cell_h``.

    Unlike TensorSpace's ``getClosestTwoFactors`` it never makes 7x1 strips for primes: it aims for
    an overall extent close to square and leaves the last row partly empty.
    """
    if n <= 0:
        raise ValueError(f"`n` must be >= 1, got {n}.")
    # Round up: seen from the front and above, depth is foreshortened, so wider reads squarer.
    cols = max(1, math.ceil(math.sqrt(n * cell_h / cell_w) - 1e-9))
    cols = min(cols, n)
    return cols, -(-n // cols)


@dataclass(frozen=True)
class LayerLayout:
    """Geometry of one layer in its own frame (layer centre at the origin, maps in y = 0)."""

    rows: int  # h of each map
    cols: int  # w of each map
    channels: int
    map_size: tuple  # (width along x, depth along z)
    centers: np.ndarray  # (channels, 2): (x, z) of each open map's centre
    button: tuple  # (x, z, radius) of the close button when open
    button_visible: bool

    @property
    def open_extent(self):
        """``(xmin, xmax, zmin, zmax)`` of the open grid, button included when shown."""
        w, d = self.map_size
        xs, zs = self.centers[:, 0], self.centers[:, 1]
        xmin, xmax = xs.min() - w / 2, xs.max() + w / 2
        if self.button_visible:
            xmin = min(xmin, self.button[0] - self.button[2])
        return xmin, xmax, zs.min() - d / 2, zs.max() + d / 2

    @property
    def closed_extent(self):
        w, d = self.map_size
        return -w / 2, w / 2, -d / 2, d / 2

    def locate(self, status, x, z):
        """What a point ``(x, z)`` of the layer plane falls on.

        Returns ``("button",)``, ``("map", channel, row, col)``, ``("aggregate", row, col)`` or
        ``None``; ``status`` is "open" or "close".
        """
        w, d = self.map_size
        if status == "close":
            hit = _pixel(x, z, 0.0, 0.0, w, d, self.rows, self.cols)
            return None if hit is None else ("aggregate", *hit)
        bx, bz, r = self.button
        if self.button_visible and (x - bx) ** 2 + (z - bz) ** 2 <= r * r:
            return ("button",)
        near = np.flatnonzero(
            (np.abs(self.centers[:, 0] - x) <= w / 2) & (np.abs(self.centers[:, 1] - z) <= d / 2)
        )
        for channel in near:
            hit = _pixel(x, z, *self.centers[channel], w, d, self.rows, self.cols)
            if hit is not None:
                return ("map", int(channel), *hit)
        return None


def _pixel(x, z, cx, cz, w, d, rows, cols):
    u, v = (x - cx + w / 2) / w, (z - cz + d / 2) / d
    if not (0 <= u <= 1 and 0 <= v <= 1):
        return None
    return min(int(v * rows), rows - 1), min(int(u * cols), cols - 1)


def layer_layout(shape, unit, *, group_size=1, close_ratio=1.0, show_button=True):
    """Open-grid geometry for a layer whose output is ``shape = (h, w, c)``.

    ``group_size`` maps (a depthwise layer's ``depth_multiplier``) are kept together in a tight
    sub-grid, and those groups are spaced further apart than the maps inside them. The close
    button sits left of the grid, vertically centred; its gap to the grid grows with its radius,
    so it never overlaps a map at any ``close_ratio`` (TensorSpace offsets it by the unscaled size).
    """
    h, w, c = shape
    if c % group_size:
        raise ValueError(f"`group_size` {group_size} does not divide the {c} channels.")
    mw, md = w * unit, h * unit
    if group_size == 1:
        gcols, grows = grid_shape(c, mw * (1 + MAP_GAP), md * (1 + MAP_GAP))
        inner_cols = inner_rows = 1
        inner_gap, outer_gap = 0.0, MAP_GAP
    else:
        inner_cols, inner_rows = (group_size, 1) if group_size <= 4 else grid_shape(group_size, mw, md)
        inner_gap, outer_gap = GROUP_INNER_GAP, GROUP_OUTER_GAP
        group_w = inner_cols * mw + (inner_cols - 1) * inner_gap * mw
        group_d = inner_rows * md + (inner_rows - 1) * inner_gap * md
        gcols, grows = grid_shape(c // group_size, group_w + outer_gap * mw, group_d + outer_gap * md)
    group_w = inner_cols * mw + (inner_cols - 1) * inner_gap * mw
    group_d = inner_rows * md + (inner_rows - 1) * inner_gap * md
    pitch_x, pitch_z = group_w + outer_gap * mw, group_d + outer_gap * md

    channel = np.arange(c)
    group, member = np.divmod(channel, group_size)
    g_row, g_col = np.divmod(group, gcols)
    m_row, m_col = np.divmod(member, inner_cols)
    x = g_col * pitch_x + m_col * mw * (1 + inner_gap) + mw / 2
    z = g_row * pitch_z + m_row * md * (1 + inner_gap) + md / 2
    used_rows = -(-(c // group_size) // gcols)
    x -= (gcols * pitch_x - outer_gap * mw) / 2
    z -= (used_rows * pitch_z - outer_gap * md) / 2
    centers = np.stack([x, z], axis=1).astype(np.float64)

    depth = z.max() - z.min() + md
    base = max(CLOSE_BUTTON_BASE * depth, CLOSE_BUTTON_MIN * min(mw, md))
    radius = base * close_ratio
    left = x.min() - mw / 2
    button = (left - base - radius, 0.0, radius)
    return LayerLayout(h, w, c, (mw, md), centers, button, bool(show_button))


# --------------------------------------------------------------------------- quads


def quad_corners(centers_xz, size, y=0.0):
    """Vertices ``(n * 6, 3)`` of n axis-aligned quads in the x-z plane (two triangles each).

    ``size`` is ``(width, depth)`` shared by all quads, or an ``(n, 2)`` array. Triangles wind
    counter-clockwise seen from above (+y).
    """
    centers_xz = np.asarray(centers_xz, np.float64).reshape(-1, 2)
    size = np.broadcast_to(np.asarray(size, np.float64), centers_xz.shape)
    # Corner order: (x-, z+), (x+, z+), (x+, z-), (x-, z+), (x+, z-), (x-, z-)
    sx = np.array([-1, 1, 1, -1, 1, -1]) * 0.5
    sz = np.array([1, 1, -1, 1, -1, -1]) * 0.5
    out = np.empty((len(centers_xz), 6, 3), np.float32)
    out[:, :, 0] = centers_xz[:, :1] + sx * size[:, :1]
    out[:, :, 1] = y
    out[:, :, 2] = centers_xz[:, 1:] + sz * size[:, 1:]
    return out.reshape(-1, 3)


def quad_uvs(rects):
    """UVs ``(n * 6, 2)`` for quads showing atlas rectangles ``(u0, v0, u1, v1)``.

    ``v0`` is the texture coordinate of the picture's top row: it lands on the quad's far (-z)
    edge, so row 0 of a map is drawn at the back.
    """
    rects = np.asarray(rects, np.float64).reshape(-1, 4)
    u0, v0, u1, v1 = rects.T
    us = np.stack([u0, u1, u1, u0, u1, u0], axis=1)
    vs = np.stack([v1, v1, v0, v1, v0, v0], axis=1)
    return np.stack([us, vs], axis=2).astype(np.float32).reshape(-1, 2)


# --------------------------------------------------------------------------- model


def model_unit(input_shapes):
    """World size of one input pixel: the widest input is ``MODEL_WIDTH`` across."""
    return MODEL_WIDTH / max(max(h, w) for h, w, _ in input_shapes)


def levels(layers, shown=None):
    """Level of each shown layer (longest path from an input, counting shown layers only).

    ``layers`` is in topological order; ``shown`` (default: all) is the subset drawn, in order.
    A hidden layer passes its inputs' level through, so hiding BatchNorm or ReLU layers closes
    the gaps they would leave.
    """
    shown_ids = {id(layer) for layer in (layers if shown is None else shown)}
    level = {}
    for layer in layers:
        below = max((level[id(p)] for p in layer.inbound_layers), default=-1)
        level[id(layer)] = below + 1 if id(layer) in shown_ids else below
    return [level[id(layer)] for layer in layers if id(layer) in shown_ids]


MIN_PITCH = 24.0  # the closest two levels get, for deep models whose maps become small


def level_pitches(depths, layer_levels):
    """Gaps between consecutive levels: ``LAYER_PITCH`` for pictures as deep as the input, less
    for the small maps deep in a network, so a 30-layer model is not a tall thin needle."""
    n_levels = max(layer_levels) + 1
    deepest = [max(d for d, l in zip(depths, layer_levels) if l == lev) for lev in range(n_levels)]
    return [float(np.clip(0.8 * max(a, b), MIN_PITCH, LAYER_PITCH))
            for a, b in zip(deepest, deepest[1:])]


def layer_positions(widths, layer_levels, depths=None):
    """``(n, 3)`` layer centres: levels stacked along +y and centred on 0, siblings side by side.

    ``depths`` (the z extent of each closed layer) shortens the gaps between small layers; without
    it every gap is ``LAYER_PITCH``.
    """
    n_levels = max(layer_levels) + 1
    pitches = (level_pitches(depths, layer_levels) if depths is not None
               else [LAYER_PITCH] * (n_levels - 1))
    ys = np.concatenate([[0.0], np.cumsum(pitches)])
    ys -= (ys[0] + ys[-1]) / 2
    pos = np.zeros((len(widths), 3))
    for lev in range(n_levels):
        members = [i for i, l in enumerate(layer_levels) if l == lev]
        total = sum(widths[i] for i in members) + LEVEL_GAP * (len(members) - 1)
        x = -total / 2
        for i in members:
            pos[i] = (x + widths[i] / 2, ys[lev], 0.0)
            x += widths[i] + LEVEL_GAP
    return pos


def framing(closed_lo, closed_hi, open_lo, open_hi, max_zoom_out=3.0):
    """The box a default camera frames: the model as if every layer were open, but never more
    than ``max_zoom_out`` times the closed model's size per axis (then centred on it)."""
    c_lo, c_hi = np.asarray(closed_lo, float), np.asarray(closed_hi, float)
    o_lo, o_hi = np.asarray(open_lo, float), np.asarray(open_hi, float)
    centre, half = (c_lo + c_hi) / 2, (c_hi - c_lo) / 2
    limit = np.maximum(half * max_zoom_out, 1e-9)
    return np.maximum(o_lo, centre - limit), np.minimum(o_hi, centre + limit)


def default_camera(extent_min, extent_max, aspect, fov=45.0, elevation=40.0):
    """Camera position and target that frame a box, seen from the front and ``elevation`` above."""
    lo, hi = np.asarray(extent_min, float), np.asarray(extent_max, float)
    target = (lo + hi) / 2
    half = (hi - lo) / 2
    el = math.radians(elevation)
    # Projected half-height of the box from that elevation, and half-width.
    half_h = half[1] * math.cos(el) + half[2] * math.sin(el)
    half_w = half[0]
    tan = math.tan(math.radians(fov) / 2)
    dist = max(half_h / tan, half_w / (tan * aspect)) * 1.15 + half[2] * math.cos(el)
    position = target + dist * np.array([0.0, math.sin(el), math.cos(el)])
    return tuple(float(v) for v in position), tuple(float(v) for v in target)


def project(points, camera_position, target, fov=45.0, aspect=1.0):
    """Normalised device coordinates ``(n, 2)`` of world points, for a camera aimed at ``target``.

    Matches three.js's PerspectiveCamera after ``lookAt(target)`` with +y up; x and y are in
    [-1, 1] for points on screen (y up).
    """
    pts = np.atleast_2d(np.asarray(points, float))
    eye, aim = np.asarray(camera_position, float), np.asarray(target, float)
    forward = (aim - eye) / np.linalg.norm(aim - eye)
    right = np.cross(forward, (0.0, 1.0, 0.0))
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    d = pts - eye
    depth = d @ forward
    tan = math.tan(math.radians(fov) / 2)
    return np.stack([(d @ right) / (depth * tan * aspect), (d @ up) / (depth * tan)], axis=1)
