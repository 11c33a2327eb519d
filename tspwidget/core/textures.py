"""Values to colour codes, a layer's code atlas, and its palette (numpy only).

A layer's pictures travel as ONE BYTE per texel: every map (and the closed aggregate) is stored as
codes in one single-channel atlas, and the colour lookup happens in the material
(``tspwidget.core.shaders``) through a 256-entry palette, which travels in the same atlas (three
planes R, G, B of 256 bytes after the cells: pythreejs 2.4.2 resolves only one texture uniform of a
ShaderMaterial, see ``core.shaders``). Codes:

====================  =====  ==========================================================
``CODE_CLEAR``        0      transparent: discarded (padding cells of a vector strip)
``CODE_NAN``          1      NaN, drawn in ``NAN_RGB`` (magenta)
``CODE_BUTTON_FILL``  2      close button disc (the button is drawn by the shader, see
``CODE_BUTTON_RING``  3      ``button_codes``; these palette entries give its colours)
``CODE_BUTTON_X``     4      the X on the button
``CODE_SIDE``         5      the side faces of a closed layer's slab
``CODE_LOW``..        6..255 values: normalised 0 (and -Inf) -> 6, 1 (and +Inf) -> 255
====================  =====  ==========================================================

Colour follows TensorSpace: a map is drawn in its layer's colour, its brightness carrying the value:
``colour * (0.4 + 0.6 * normalised value)`` (TensorSpace's ``minOpacity = 0.4`` on a black
background). Unlike TensorSpace, constant maps and non-finite values cannot overflow: a constant map
is drawn at mid brightness, +Inf at full, -Inf at the minimum, and NaN in a colour of its own.
Changing a layer's colour or the colormap changes only the palette rows of the atlas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_choice

MIN_BRIGHTNESS = 0.4  # TensorSpace's minOpacity
NAN_RGB = (255, 0, 255)  # magenta: never a shade of a layer colour on black
AGGREGATIONS = ("mean", "max")
NORMALIZATIONS = ("map", "layer")

CODE_CLEAR, CODE_NAN, CODE_BUTTON_FILL, CODE_BUTTON_RING, CODE_BUTTON_X, CODE_SIDE = range(6)
CODE_LOW, CODE_HIGH = 6, 255
LEVELS = CODE_HIGH - CODE_LOW + 1  # 250 brightness steps (less than one 8-bit step apart)
PLACEHOLDER_CODE = CODE_LOW + (LEVELS - 1) // 3  # one flat dim shade: maps hidden for a quiz
PALETTE_SIZE = 256

# The close button, in its own square [-0.5, 0.5]^2 (the shader draws it at any size).
BUTTON_RING2 = 0.2  # squared radius where the ring starts (the disc's edge is 0.25)
BUTTON_X_HALF_WIDTH = 0.06  # half width of the X's strokes, as | |x| - |y| |
BUTTON_X_REACH = 0.24  # the X's strokes end at max(|x|, |y|) = this
BUTTON_FILL_SHADE = 0.55  # the disc is the layer colour times this, the ring the colour itself
BUTTON_X_RGB = (20, 20, 20)
SIDE_SHADE = 0.8  # a slab's sides: the darkest value colour times this (then shaded per face)


def hex_to_rgb(color):
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], np.float32)


def aggregate(values, how="mean"):
    """The closed layer's single map ``(h, w)``: mean or max over channels (NaN propagates)."""
    as_choice(how, "aggregation", AGGREGATIONS)
    with np.errstate(invalid="ignore"):
        return values.mean(axis=2) if how == "mean" else values.max(axis=2)


def normalize(values, per="map"):
    """Scale ``(h, w, c)`` values to [0, 1] per map (each channel alone) or per layer.

    Only finite values set the range; +Inf maps to 1, -Inf to 0, NaN stays NaN, and a range of
    zero width (a constant map) gives 0.5.
    """
    as_choice(per, "normalize", NORMALIZATIONS)
    v = np.asarray(values, np.float64)
    finite = np.isfinite(v)
    axes = (0, 1) if per == "map" else (0, 1, 2)
    lo = np.min(np.where(finite, v, np.inf), axis=axes, keepdims=True)
    hi = np.max(np.where(finite, v, -np.inf), axis=axes, keepdims=True)
    span = hi - lo
    flat = ~(span > 0)  # constant maps, and maps without any finite value
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(flat, 0.5, (v - lo) / np.where(flat, 1, span))
    out = np.where(np.isposinf(v), 1.0, np.where(np.isneginf(v), 0.0, out))
    out[np.isnan(v)] = np.nan
    return out.astype(np.float32)


COLORMAPS = ("layer", "viridis")
# Viridis at nine evenly spaced points (matplotlib's values): perceptually uniform, readable with
# every common colour-vision deficiency and in greyscale print; interpolated linearly between.
_VIRIDIS = np.array([[68, 1, 84], [72, 40, 120], [62, 73, 137], [49, 104, 142], [38, 130, 142],
                     [31, 158, 137], [53, 183, 121], [110, 206, 88], [253, 231, 37]], np.float32)


def colormap_rgb(norm, colormap, rgb):
    """``(..., 3)`` float colours for values in [0, 1]: the layer colour's brightness ramp
    (TensorSpace's look) or viridis."""
    norm = np.clip(np.nan_to_num(np.asarray(norm, np.float32), nan=0), 0, 1)
    if colormap == "viridis":
        pos = norm * (len(_VIRIDIS) - 1)
        i = np.minimum(pos.astype(int), len(_VIRIDIS) - 2)
        f = (pos - i)[..., None]
        return _VIRIDIS[i] * (1 - f) + _VIRIDIS[i + 1] * f
    return (MIN_BRIGHTNESS + (1 - MIN_BRIGHTNESS) * norm)[..., None] * rgb


def shade(norm, rgb, colormap="layer"):
    """RGBA uint8 colours of normalised values ``(..., )`` (what the shader shows for them, up to
    the 250-step code quantisation): in colour ``rgb`` (3 floats 0-255) at brightness 0.4-1, or in
    a colormap; NaN in magenta."""
    as_choice(colormap, "colormap", COLORMAPS)
    norm = np.asarray(norm, np.float32)
    out = np.empty((*norm.shape, 4), np.uint8)
    out[..., :3] = colormap_rgb(norm, colormap, rgb).clip(0, 255).astype(np.uint8)
    out[..., 3] = 255
    out[np.isnan(norm)] = (*NAN_RGB, 255)
    return out


# --------------------------------------------------------------------------- codes and palette


def encode(norm):
    """uint8 codes of normalised values: [0, 1] -> ``CODE_LOW..CODE_HIGH`` (values outside are
    clamped, so -Inf lands on the bottom and +Inf on the top), NaN -> ``CODE_NAN``."""
    norm = np.asarray(norm, np.float32)
    with np.errstate(invalid="ignore"):
        codes = CODE_LOW + np.rint(np.clip(norm, 0, 1) * (LEVELS - 1))
    codes = np.where(np.isnan(norm), CODE_NAN, codes)
    return codes.astype(np.uint8)


def code_values(codes):
    """The normalised value a value code stands for (the inverse of ``encode``, on its grid)."""
    return (np.asarray(codes, np.float32) - CODE_LOW) / (LEVELS - 1)


def palette(color, colormap="layer", rgb_image=False):
    """The ``(1, 256, 4)`` uint8 palette of a layer: what each code looks like.

    With ``rgb_image`` (an RGB input) the value codes are a white ramp: the shader tints map k
    red, green or blue, and draws the closed picture from three planes of codes directly.
    """
    as_choice(colormap, "colormap", COLORMAPS)
    rgb = hex_to_rgb(color)
    out = np.zeros((1, PALETTE_SIZE, 4), np.uint8)
    t = code_values(np.arange(CODE_LOW, CODE_HIGH + 1))
    if rgb_image:
        ramp = colormap_rgb(t, "layer", np.full(3, 255.0, np.float32))
    else:
        ramp = colormap_rgb(t, colormap, rgb)
    out[0, CODE_LOW:, :3] = ramp.clip(0, 255).astype(np.uint8)
    out[0, CODE_NAN, :3] = NAN_RGB
    out[0, CODE_BUTTON_FILL, :3] = (rgb * BUTTON_FILL_SHADE).astype(np.uint8)
    out[0, CODE_BUTTON_RING, :3] = rgb.astype(np.uint8)
    out[0, CODE_BUTTON_X, :3] = BUTTON_X_RGB
    side = colormap_rgb(np.zeros(1), "layer" if rgb_image else colormap, rgb)[0] * SIDE_SHADE
    out[0, CODE_SIDE, :3] = side.clip(0, 255).astype(np.uint8)
    out[0, 1:, 3] = 255  # CODE_CLEAR stays (0, 0, 0, 0)
    return out


def button_codes(size=64):
    """The close button rasterised at ``size x size`` texel centres, as codes: the numpy twin of
    what the shader draws analytically (round at any size): a disc with a ring and an X,
    ``CODE_CLEAR`` outside the disc."""
    yy, xx = (np.mgrid[0:size, 0:size] + 0.5) / size - 0.5
    r2 = xx**2 + yy**2
    disc = r2 <= 0.25
    cross = (np.abs(np.abs(xx) - np.abs(yy)) < BUTTON_X_HALF_WIDTH) & (
        np.maximum(np.abs(xx), np.abs(yy)) < BUTTON_X_REACH)
    out = np.full((size, size), CODE_CLEAR, np.uint8)
    out[disc] = CODE_BUTTON_FILL
    out[disc & (r2 >= BUTTON_RING2)] = CODE_BUTTON_RING
    out[disc & cross] = CODE_BUTTON_X
    return out


# --------------------------------------------------------------------------- the atlas


@dataclass(frozen=True)
class AtlasLayout:
    """Where each picture of a layer sits in its code atlas; depends on the shapes only.

    The atlas is a grid of ``grid_cols`` cells of ``cell`` = (h, w) texels with no gutters (the
    atlas is sampled with NearestFilter, and the quads' UVs stay a hair inside their cells): cell k
    < c is map k, the next cell(s) the closed aggregate (three planes R, G, B for an RGB input).
    Its width is a multiple of 4 (WebGL1's default row alignment, though the texture also asks
    for an alignment of 1).
    """

    shape: tuple  # (rows, cols) of the atlas array
    cell: tuple  # (h, w) texels of each cell
    grid_cols: int
    map_rects: np.ndarray  # (c, 4): u0, v0, u1, v1 of each map (v0 = the map's row 0)
    aggregate_rect: tuple  # the aggregate's cell (the first of the three planes of an RGB input)
    n_cells: int
    palette_row: int  # the palette starts here: byte ``plane * 256 + code`` of the rows from it

    @property
    def cell_uv(self):
        """(u, v) size of one cell."""
        return self.cell[1] / self.shape[1], self.cell[0] / self.shape[0]

    def rect(self, k):
        """u0, v0, u1, v1 of cell k."""
        h, w = self.cell
        r0, c0 = (k // self.grid_cols) * h, (k % self.grid_cols) * w
        H, W = self.shape
        return (c0 / W, r0 / H, (c0 + w) / W, (r0 + h) / H)


def aggregate_planes(shape, rgb_image=False):
    """How many cells the closed aggregate takes: 3 for an RGB input's colour picture, else 1."""
    return 3 if rgb_image and shape[2] == 3 else 1


MAX_ATLAS_SIDE = 4096  # texels; every WebGL1 device this runs on offers at least this


def _grid_cols(n, h, w):
    """Cells per atlas row: the fewest texels in all (empty cells in the last row and the width
    padding cost bytes), both sides within ``MAX_ATLAS_SIDE``, the squarest among equals."""
    best = None
    for gcols in range(1, n + 1):
        width, height = -(-(gcols * w) // 4) * 4, -(-n // gcols) * h
        fits = width <= MAX_ATLAS_SIDE and height <= MAX_ATLAS_SIDE
        key = (not fits, width * height, abs(np.log(width / height)))
        if best is None or key < best[0]:
            best = (key, gcols)
    return best[1]


def atlas_layout(h, w, c, planes=1):
    """Pack c maps of h x w and the aggregate (``planes`` cells) into a near-square grid."""
    n = c + planes
    gcols = _grid_cols(n, h, w)
    grows = -(-n // gcols)
    width = -(-(gcols * w) // 4) * 4
    shape = (grows * h + -(-3 * PALETTE_SIZE // width), width)
    layout = AtlasLayout(shape=shape, cell=(h, w), grid_cols=gcols, map_rects=np.zeros((c, 4)),
                         aggregate_rect=(), n_cells=n, palette_row=grows * h)
    rects = np.array([layout.rect(k) for k in range(n)], np.float64)
    return AtlasLayout(shape=shape, cell=(h, w), grid_cols=gcols, map_rects=rects[:c],
                       aggregate_rect=tuple(float(x) for x in rects[c]), n_cells=n,
                       palette_row=grows * h)


def paint_atlas(layout, cells, palette_rgba):
    """The code atlas ``(rows, cols)`` uint8 from ``cells (n, h, w)`` uint8 (maps, then aggregate)
    and the layer's ``palette`` (its R, G, B planes go after the cells)."""
    cells = np.asarray(cells, np.uint8)
    n, h, w = cells.shape
    gcols = layout.grid_cols
    grows = -(-n // gcols)
    full = np.zeros((grows * gcols, h, w), np.uint8)
    full[:n] = cells
    atlas = np.zeros(layout.shape, np.uint8)
    atlas[: grows * h, : gcols * w] = (
        full.reshape(grows, gcols, h, w).transpose(0, 2, 1, 3).reshape(grows * h, gcols * w))
    planes = np.asarray(palette_rgba, np.uint8).reshape(PALETTE_SIZE, 4)[:, :3].T.reshape(-1)
    tail = atlas[layout.palette_row:].reshape(-1)  # a view: rows after the cells, row-major
    tail[: planes.size] = planes
    return atlas


def atlas_palette(layout, atlas):
    """The ``(256, 3)`` palette colours stored in an atlas (what the shader reads)."""
    tail = np.asarray(atlas)[layout.palette_row:].reshape(-1)[: 3 * PALETTE_SIZE]
    return tail.reshape(3, PALETTE_SIZE).T


def layer_codes(values, shape, *, aggregation="mean", normalize_per="map", rgb_image=False,
                color="#FFFFFF"):
    """``(c + planes, h, w)`` uint8 codes of one layer: its c maps, then its closed aggregate.

    ``values`` is the layer's ``neural_value`` or None (then every map is the plain layer colour:
    the top code). With ``rgb_image`` (an RGB input) the aggregate is three planes, R, G and B
    normalised together, which the shader shows as the colour picture itself (before any values,
    the planes hold ``color``).
    """
    h, w, c = shape
    planes = aggregate_planes(shape, rgb_image)
    values, padding = _as_display(values, shape)
    if values is None:
        out = np.full((c + planes, h, w), CODE_HIGH, np.uint8)
        if planes == 3:
            out[c:] = encode((hex_to_rgb(color) / 255)[:, None, None] * np.ones((1, h, w)))
        return out
    norm = normalize(values, normalize_per)
    out = np.empty((c + planes, h, w), np.uint8)
    out[:c] = encode(norm).transpose(2, 0, 1)
    if planes == 3:
        joint = normalize(values, "layer")
        joint[np.isnan(joint).any(axis=2)] = np.nan  # a NaN anywhere: the pixel is NaN
        out[c:] = encode(joint).transpose(2, 0, 1)
    else:
        out[c] = encode(normalize(aggregate(values, aggregation)[..., None], "map")[..., 0])
    if padding is not None:  # the cells after a vector's end are left out (transparent)
        out[:, padding] = CODE_CLEAR
    return out


def _as_display(values, shape):
    """Values laid out as ``shape = (rows, cols, c)`` and the mask of padding cells, if any."""
    if values is None:
        return None, None
    values = np.asarray(values)
    if values.shape == tuple(shape):
        return values, None
    rows, cols, c = shape
    flat = np.full(rows * cols * c, np.nan, np.float32)
    flat[: values.size] = values.reshape(-1)
    padding = np.zeros(rows * cols, bool)
    padding[values.size // c:] = True
    # Padding cells take the first value, so they cannot change any range (then go transparent).
    flat[values.size:] = flat[0]
    return flat.reshape(shape), padding.reshape(rows, cols)


def colorbar_css(colormap, color):
    """A CSS linear-gradient of the colour scale, low to high, for an HTML colorbar."""
    rgb = hex_to_rgb(color)
    stops = colormap_rgb(np.linspace(0, 1, 9), colormap, rgb)
    return "linear-gradient(to right, " + ", ".join(
        f"rgb({int(r)},{int(g)},{int(b)})" for r, g, b in stops) + ")"
