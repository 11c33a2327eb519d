"""Pure geometry of the 3D view: where maps, aggregates, close buttons and layers sit.

Conventions (TensorSpace's, with its bugs fixed): y is up and layers stack along +y; a layer's maps
lie flat in its x-z plane. A map of ``h`` rows and ``w`` columns is ``w * unit`` wide along x and
``h * unit`` deep along z, with row 0 at the far edge (-z) and column 0 at the left (-x), so the
picture reads upright from the front and above. ``unit`` is ``100 / max(h, w)`` of the model input
(``ModelInitWidth = 100`` in TensorSpace's Constant.js).

Everything here returns plain numbers and numpy arrays; the scene turns them into meshes.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

MODEL_WIDTH = 100.0  # world width of the input picture (TensorSpace's ModelInitWidth)
LAYER_PITCH = 80.0  # vertical distance between consecutive layers (TensorSpace: 50, which
# makes closed layers hide each other from any camera above them)
MIN_MAP_SHARE = 0.25  # the smallest map's longer side, as a share of MODEL_WIDTH
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
    # Deep layers' 7x7 or 2x2 maps would be specks beside their labels: no map is drawn smaller
    # than MIN_MAP_SHARE of the model's width (its pixels just get bigger), the pyramid stays.
    grow = max(1.0, MIN_MAP_SHARE * MODEL_WIDTH / max(mw, md))
    mw, md = mw * grow, md * grow
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


# --------------------------------------------------------------------------- the whole model
#
# The model is drawn as a diagram: levels (longest path from an input) stack along +y, siblings of
# one level sit side by side, and a deep model wraps into several columns (left to right, each
# read bottom to top) so that it fills a wide canvas. Everything is seen by a camera looking down
# at ELEVATION degrees, and room is measured *on screen*: a point (x, y, z) lands at height
# v = y cos(el) - z sin(el) (orthographic view), so a flat map of depth d covers d sin(el) of
# screen height and levels are spaced so that their bands (maps and labels) never meet. Opening
# a layer widens its band, which moves the levels above it up (and its column's neighbours
# aside): ``arrange`` is that rule, and js/controller.js runs the very same one in the browser.

ELEVATION = 32.0  # degrees the default camera looks down on the model
FOCUS_ELEVATION = 48.0  # ... and on a layer it frames: maps read best from higher up
FOCUS_MARGIN = 0.25  # extra room around an open layer: seen up close, its near edge looks bigger
FOV = 22.0  # narrower than TensorSpace's 45: far layers shrink less, so deep models stay legible
CHAR_WIDTH = 0.62  # label width per character, in label heights (monospace: 0.6)
LABEL_GAP = 0.7  # between a layer's maps and its label, in label heights
LEVEL_GAP = 0.4  # free screen height between two levels' bands, in label heights
SIBLING_GAP = 1.5  # between side-by-side layers of a level
COLUMN_GAP = 2.0  # between the columns of a wrapped model (connection lines run there)
SLAB = 0.04  # thickness of a closed layer's slab, in map widths
FRAME_MARGIN = 1.06  # the default camera leaves this much room around the model
LABEL_PX = 13.0  # label height on screen at the default camera (projector: PROJECTOR_PX)
PROJECTOR_PX = 20.0
MIN_LABEL_PX = 11.0
FIT_TOLERANCE = 0.005
MAX_LABEL_GROWTH = 12.0  # labels grow at most this much when layers open (then they get smaller)


@dataclass(frozen=True)
class Node:
    """One drawn layer: its footprints (x-z extents in its own frame) closed and open."""

    name: str
    level: int
    inputs: tuple  # indexes of the nodes it reads from
    closed: tuple  # (xmin, xmax, zmin, zmax)
    opened: tuple
    full: str  # label text: everything
    short: str  # label text when the model is crowded: the name


@dataclass(frozen=True)
class Plan:
    """What ``arrange`` needs: nodes, the column of each level, label size and the camera."""

    nodes: tuple
    level_column: tuple  # column of each level
    label_h: float  # world height of label text for the statuses the plan was made for
    short_labels: bool
    aspect: float
    label_px: float = LABEL_PX  # label height on screen at the default camera, whatever is open
    height_px: float = 500.0  # canvas height
    elevation: float = ELEVATION
    fov: float = FOV

    def label(self, i):
        node = self.nodes[i]
        return node.short if self.short_labels else node.full

    def to_json(self):
        """The plan as plain data, for the browser controller (same field names)."""
        return {
            "nodes": [{"name": n.name, "level": n.level, "inputs": list(n.inputs),
                       "closed": [float(v) for v in n.closed], "opened": [float(v) for v in n.opened],
                       "label": self.label(i), "full": n.full}
                      for i, n in enumerate(self.nodes)],
            "level_column": list(self.level_column), "label_h": self.label_h,
            "label_px": self.label_px, "height_px": self.height_px,
            "aspect": self.aspect, "elevation": self.elevation, "fov": self.fov,
            "constants": {"CHAR_WIDTH": CHAR_WIDTH, "LABEL_GAP": LABEL_GAP, "LEVEL_GAP": LEVEL_GAP,
                          "SIBLING_GAP": SIBLING_GAP, "COLUMN_GAP": COLUMN_GAP, "SLAB": SLAB,
                          "FRAME_MARGIN": FRAME_MARGIN, "FIT_TOLERANCE": FIT_TOLERANCE,
                          "MAX_LABEL_GROWTH": MAX_LABEL_GROWTH, "FOCUS_ELEVATION": FOCUS_ELEVATION,
                          "FOCUS_MARGIN": FOCUS_MARGIN},
        }


@dataclass(frozen=True)
class Arrangement:
    """Where every node sits for one set of statuses, and the screen bands used to place it."""

    positions: np.ndarray  # (n, 3) node origins
    footprints: np.ndarray  # (n, 4) the footprint in use (open or closed)
    label_width: np.ndarray  # (n,) world width of each label
    label_h: float
    elevation: float
    aspect: float

    def label_anchor(self, i):
        """World point of a label's left end, mid-height: right of the maps, on the layer's axis."""
        x, y, z = self.positions[i]
        return np.array([x + label_offset(self.footprints[i], self.label_h, self.aspect), y, z])

    def map_box(self, i):
        x, y, z = self.positions[i]
        x0, x1, z0, z1 = self.footprints[i]
        t = SLAB * (x1 - x0)
        return (x + x0, y, z + z0, x + x1, y + t, z + z1)

    def label_box(self, i):
        ax, ay, az = self.label_anchor(i)
        h = self.label_h
        return (ax, ay - h / 2, az, ax + self.label_width[i], ay + h / 2, az)


# Perspective moves a map's near and far edges by up to tan(fov/2) x their distance in front of
# or behind its centre, relative to where the orthographic rule puts them: bands and label
# offsets carry that allowance, so what ``arrange`` keeps apart stays apart on screen too.
def _slack(elevation, fov=FOV):
    return math.tan(math.radians(fov) / 2) / math.tan(math.radians(elevation))


def label_offset(footprint, label_h, aspect):
    """x of a label's left end from its node's origin: past the maps' right edge, by a gap and
    by what perspective can add to the maps' near corners."""
    return float(_label_offsets(np.asarray([footprint], float), label_h, aspect)[0])


def _label_offsets(feet, label_h, aspect):
    """``label_offset`` of every footprint row of ``feet`` (n, 4) at once."""
    ce = math.cos(math.radians(ELEVATION))
    near = math.tan(math.radians(FOV) / 2) * aspect * ce * (feet[:, 3] - feet[:, 2]) / 2
    return feet[:, 1] + LABEL_GAP * label_h + near


def _all_bands(feet, label_h, se, ce, slack):
    """(screen height above, below) each node's axis, for the footprint rows of ``feet`` (n, 4):
    its maps seen at the elevation (with the perspective allowance ``slack``), its label."""
    slab = SLAB * (feet[:, 1] - feet[:, 0]) * ce
    up = np.maximum(-feet[:, 2] * se * (1 + slack) + slab, label_h / 2)
    down = np.maximum(feet[:, 3] * se * (1 + slack), label_h / 2)
    return up, down


def arrange(plan, open_flags):
    """Node positions for the statuses ``open_flags`` (one bool per node): see the section note.

    Labels are world objects (they zoom with the scene), but their world height is chosen for
    each set of statuses so that at the default camera they are ``plan.label_px`` pixels high
    (a secant search, the same in js/controller.js): opening a big grid makes the whole model
    smaller on screen, and its labels would otherwise become unreadable.
    """
    def px(h):
        arr = _arrange(plan, open_flags, h)
        eye, aim = frame(screen_extent(arr), plan.aspect, plan.elevation, plan.fov)
        return arr, min_label_px(arr, eye, aim, plan.fov, plan.height_px)

    goal = plan.label_px
    h0 = plan.label_h
    h_max = h0 * MAX_LABEL_GROWTH
    arr0, p0 = px(h0)
    if abs(p0 / goal - 1) < FIT_TOLERANCE:
        return arr0
    h1 = min(h0 * goal / p0, h_max)
    arr1, p1 = px(h1)
    for _ in range(8):
        if abs(p1 / goal - 1) < FIT_TOLERANCE or h1 == h0:
            break
        slope = (p1 - p0) / (h1 - h0)
        h2 = h1 + (goal - p1) / slope if slope > 0 else h1 * goal / p1
        h2 = min(max(h2, h1 / 4), h1 * 4, h_max)
        (h0, p0), (h1, (arr1, p1)) = (h1, p1), (h2, px(h2))
    return arr1


def min_label_px(arrangement, eye, aim, fov, height_px):
    """The smallest label's height on screen, in pixels."""
    forward = (aim - eye) / np.linalg.norm(aim - eye)
    anchors = arrangement.positions.copy()
    anchors[:, 0] += _label_offsets(arrangement.footprints, arrangement.label_h, arrangement.aspect)
    depth = float(np.max((anchors - eye) @ forward))
    focal = height_px / 2 / math.tan(math.radians(fov) / 2)
    return arrangement.label_h * focal / depth


def _arrange(plan, open_flags, h):
    """``arrange`` with a given label height ``h``."""
    el, ef = math.radians(plan.elevation), math.radians(FOCUS_ELEVATION)
    se, ce, sf, cf = math.sin(el), math.cos(el), math.sin(ef), math.cos(ef)
    slack, focus_slack = _slack(plan.elevation, plan.fov), _slack(FOCUS_ELEVATION, plan.fov)
    n = len(plan.nodes)
    feet = np.array([node.opened if open_flags[i] else node.closed
                     for i, node in enumerate(plan.nodes)], float).reshape(n, 4)
    label_w = np.array([len(plan.label(i)) * CHAR_WIDTH * h for i in range(n)])
    left = feet[:, 0].tolist()
    right = (_label_offsets(feet, h, plan.aspect) + label_w).tolist()
    home_up, home_down = (b.tolist() for b in _all_bands(feet, h, se, ce, slack))
    focus_up, focus_down = (b.tolist() for b in _all_bands(feet, h, sf, cf, focus_slack))
    by_level = {}
    for i, node in enumerate(plan.nodes):
        by_level.setdefault(node.level, []).append(i)
    positions = np.zeros((n, 3))
    x_cursor = 0.0
    for column in range(max(plan.level_column) + 1):
        x_rel, y_of = {}, {}
        y, previous = 0.0, None
        for level in (lev for lev, col in enumerate(plan.level_column) if col == column):
            members = by_level.get(level, [])
            if len(members) == 1:  # alone: its maps on the column's axis, so a stack lines up
                x_rel[members[0]] = 0.0
            else:
                total = sum(right[i] - left[i] for i in members) + SIBLING_GAP * h * (len(members) - 1)
                x = -total / 2
                for i in members:
                    x_rel[i] = x - left[i]
                    x += right[i] - left[i] + SIBLING_GAP * h
            # Bands at the default elevation, and at the focus one where a layer is open (the
            # camera then looks from higher up, and sees more of the grid's depth).
            now = (max(home_up[i] for i in members), max(home_down[i] for i in members),
                   max(focus_up[i] for i in members), max(focus_down[i] for i in members),
                   any(open_flags[i] for i in members))
            if previous is not None:
                step = (previous[0] + now[1] + LEVEL_GAP * h) / ce
                if previous[4] or now[4]:
                    step = max(step, ((previous[2] + now[3]) * (1 + FOCUS_MARGIN) + LEVEL_GAP * h) / cf)
                y += step
            previous = now
            for i in members:
                y_of[i] = y
        if not x_rel:
            continue
        col_left = min(x_rel[i] + left[i] for i in x_rel)
        col_right = max(x_rel[i] + right[i] for i in x_rel)
        axis = x_cursor - col_left
        for i in x_rel:
            positions[i] = (axis + x_rel[i], y_of[i], 0.0)
        x_cursor = axis + col_right + COLUMN_GAP * h
    return Arrangement(positions, feet, label_w, h, plan.elevation, plan.aspect)


def screen_extent(arrangement, indexes=None, elevation=None, with_labels=True):
    """``(x0, x1, v0, v1, depth_lo, depth_hi)`` of nodes (default all) seen at the elevation:
    horizontal and screen-vertical range of their maps and labels, and their range along the
    viewing direction (for the perspective correction in ``frame``)."""
    el = math.radians(arrangement.elevation if elevation is None else elevation)
    se, ce = math.sin(el), math.cos(el)
    idx = slice(None) if indexes is None else list(indexes)
    pos, feet = arrangement.positions[idx], arrangement.footprints[idx]
    x, y, z = pos[:, 0], pos[:, 1], pos[:, 2]
    x0, x1, z0, z1 = x + feet[:, 0], x + feet[:, 1], z + feet[:, 2], z + feet[:, 3]
    y1 = y + SLAB * (feet[:, 1] - feet[:, 0])  # the maps' box (``map_box``): four of its corners
    cx, cy, cz = np.stack([x0, x1, x0, x1]), np.stack([y, y1, y1, y]), np.stack([z0, z1, z0, z1])
    xs, vs, ds = [cx.ravel()], [(cy * ce - cz * se).ravel()], [(cy * se + cz * ce).ravel()]
    if with_labels:  # ``label_box``: right of the maps, on the layer's axis
        h = arrangement.label_h
        lx0 = x + _label_offsets(feet, h, arrangement.aspect)
        lx1 = lx0 + arrangement.label_width[idx]
        ly = np.stack([y - h / 2, y + h / 2])
        xs += [lx0, lx1]
        vs.append((ly * ce).ravel())
        ds.append((ly * se).ravel())
    xs, vs, ds = np.concatenate(xs), np.concatenate(vs), np.concatenate(ds)
    return (float(xs.min()), float(xs.max()), float(vs.min()), float(vs.max()),
            float(ds.min()), float(ds.max()))


def frame(extent, aspect, elevation=ELEVATION, fov=FOV, margin=FRAME_MARGIN):
    """Camera ``(position, target)`` that shows a screen extent whole (see ``screen_extent``).

    The target is the extent's centre on the z = 0 plane; the distance fits both the width and
    the height, plus the depth by which the nearest parts come closer (and look bigger).
    """
    x0, x1, v0, v1, d0, d1 = extent
    el = math.radians(elevation)
    se, ce = math.sin(el), math.cos(el)
    xc, vc = (x0 + x1) / 2, (v0 + v1) / 2
    target = np.array([xc, vc / ce, 0.0])
    tan = math.tan(math.radians(fov) / 2)
    fit = max((v1 - v0) / 2 / tan, (x1 - x0) / 2 / (tan * aspect)) * margin
    near = max(d1 - (target[1] * se), 0.0)  # how far the nearest point sits in front of the target
    dist = fit + near
    position = target + dist * np.array([0.0, se, ce])
    return position, target


def focus_camera(arrangement, i, aspect, fov=FOV):
    """Camera ``(position, target)`` that frames node ``i``'s maps whole, from ``FOCUS_ELEVATION``
    (its label is then shown as the view's title)."""
    extent = screen_extent(arrangement, [i], FOCUS_ELEVATION, with_labels=False)
    return frame(extent, aspect, FOCUS_ELEVATION, fov)


def label_px(arrangement, i, camera_position, target, fov, height_px):
    """On-screen height in pixels of label ``i`` for a camera (labels scale like world objects)."""
    eye, aim = np.asarray(camera_position, float), np.asarray(target, float)
    forward = (aim - eye) / np.linalg.norm(aim - eye)
    depth = float((arrangement.label_anchor(i) - eye) @ forward)
    focal = height_px / 2 / math.tan(math.radians(fov) / 2)
    return arrangement.label_h * focal / depth


def clean_breaks(nodes):
    """Levels after which a column may end: every link crossing that point leaves from one node
    of the level just below, so it can be drawn as one line to the next column."""
    return list(_clean_breaks(tuple(nodes)))


@functools.lru_cache(maxsize=8)  # make_plan asks for the same model's breaks many times
def _clean_breaks(nodes):
    n_levels = max(node.level for node in nodes) + 1
    ok = []
    for lev in range(n_levels - 1):
        sources = {a for node in nodes for a in node.inputs
                   if nodes[a].level <= lev < node.level}
        if len(sources) == 1 and nodes[next(iter(sources))].level == lev:
            ok.append(lev)
    return tuple(ok)


def _columns(nodes, k, weights):
    """Column of each level: ``k`` consecutive runs of about equal weight, cut at clean breaks."""
    n_levels = max(node.level for node in nodes) + 1
    cuts = _clean_breaks(tuple(nodes))
    total = sum(weights)
    chosen, acc = [], np.cumsum(weights)
    for j in range(1, k):
        goal = total * j / k
        options = [c for c in cuts if not chosen or c > chosen[-1]]
        if not options:
            break
        chosen.append(min(options, key=lambda c: abs(acc[c] - goal)))
    column, col = [], 0
    for lev in range(n_levels):
        column.append(col)
        if col < len(chosen) and lev == chosen[col]:
            col += 1
    return tuple(column)


def make_plan(nodes, *, width, height, open_flags=None, label_px_goal=LABEL_PX, max_columns=8):
    """Choose the columns, label texts and label size so that, at the default camera for the
    statuses ``open_flags`` (default all closed), labels are ``label_px_goal`` pixels high and
    the maps as large as they can be. Full labels are kept unless short ones make the maps
    much larger (or full ones cannot be read at all). Where the goal cannot be met, labels get
    smaller, down to ``MIN_LABEL_PX`` (and below it with a warning)."""
    nodes = tuple(nodes)
    flags = [False] * len(nodes) if open_flags is None else list(open_flags)
    goal = label_px_goal
    while True:
        plan = _best_plan(nodes, width, height, flags, goal, max_columns)
        if plan is not None:
            return plan
        if goal <= MIN_LABEL_PX:
            break
        goal = max(MIN_LABEL_PX, goal * 0.9)
    for px in (9.0, 7.0, 5.0, 3.0):  # too many layers for readable labels: say so, draw anyway
        plan = _best_plan(nodes, width, height, flags, px, max_columns)
        if plan is not None:
            warnings.warn(f"{len(nodes)} layers on a {width}x{height} canvas: labels are only "
                          f"{px:g} px high; use hide=, fold=True or a larger canvas.", stacklevel=4)
            return plan
    raise ValueError(f"a {len(nodes)}-layer model cannot be drawn on a {width}x{height} canvas; "
                     f"use hide=, fold=True or a larger canvas.")


def _best_plan(nodes, width, height, flags, goal, max_columns):
    """The plan (over column counts, full or short labels) whose labels are ``goal`` px with the
    largest maps; None if no plan gets labels that large."""
    aspect = width / height
    n_levels = max(node.level for node in nodes) + 1
    best = {}
    for short in (False, True):
        for k in range(1, min(max_columns, n_levels) + 1):
            found = _label_height(nodes, k, short, aspect, flags, height, goal)
            if found is None:
                continue
            plan, scale = found
            if short not in best or scale > best[short][1]:
                best[short] = (plan, scale)
    if False in best and (True not in best or best[False][1] >= 0.6 * best[True][1]):
        return best[False][0]
    return best[True][0] if True in best else None


def _level_heights(nodes, flags, h, elevation=ELEVATION):
    """Screen height each level takes in a column (its band and the gap above it)."""
    el = math.radians(elevation)
    se, ce = math.sin(el), math.cos(el)
    feet = np.array([node.opened if is_open else node.closed for node, is_open in zip(nodes, flags)],
                    float).reshape(len(nodes), 4)
    up, down = _all_bands(feet, h, se, ce, _slack(elevation))
    heights = np.zeros(max(node.level for node in nodes) + 1)
    np.maximum.at(heights, [node.level for node in nodes], up + down + LEVEL_GAP * h)
    return heights.tolist()


def _label_height(nodes, k, short, aspect, flags, height_px, goal):
    """With ``k`` columns: the plan whose labels are ``goal`` px at the default camera, and the
    maps' scale then (pixels per world unit at the target); None if labels cannot get so large."""
    h = 0.05 * MODEL_WIDTH
    for _ in range(3):  # the columns depend (a little) on the label height
        columns = _columns(nodes, k, _level_heights(nodes, flags, h))
        plan = Plan(nodes, columns, h, short, aspect, goal, height_px)
        arr = arrange(plan, flags)
        h = arr.label_h
    eye, aim = frame(screen_extent(arr), aspect)
    if min_label_px(arr, eye, aim, FOV, height_px) < goal * (1 - 2 * FIT_TOLERANCE):
        return None
    focal = height_px / 2 / math.tan(math.radians(FOV) / 2)
    return Plan(nodes, columns, h, short, aspect, goal, height_px), focal / float(np.linalg.norm(eye - aim))
