"""Values to colours, and a layer's pictures packed into one texture atlas (numpy only).

Colour follows TensorSpace: a map is drawn in its layer's colour, its brightness carrying the value:
``colour * (0.4 + 0.6 * normalised value)`` (TensorSpace's ``minOpacity = 0.4`` on a black
background). Unlike TensorSpace, constant maps and non-finite values cannot overflow: a constant map
is drawn at mid brightness, +Inf at full, -Inf at the minimum, and NaN in a colour of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_choice

MIN_BRIGHTNESS = 0.4  # TensorSpace's minOpacity
NAN_RGB = (255, 0, 255)  # magenta: never a shade of a layer colour on black
AGGREGATIONS = ("mean", "max")
NORMALIZATIONS = ("map", "layer")
BUTTON_PX = 64  # close-button picture size in the atlas


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
    """RGBA uint8 pictures from normalised values ``(..., )``: in colour ``rgb`` (3 floats 0-255)
    at brightness 0.4-1, or in a colormap; NaN in magenta."""
    as_choice(colormap, "colormap", COLORMAPS)
    norm = np.asarray(norm, np.float32)
    out = np.empty((*norm.shape, 4), np.uint8)
    out[..., :3] = colormap_rgb(norm, colormap, rgb).clip(0, 255).astype(np.uint8)
    out[..., 3] = 255
    out[np.isnan(norm)] = (*NAN_RGB, 255)
    return out


def button_picture(rgb, size=BUTTON_PX):
    """A round close button with an X, RGBA; transparent outside the disc (cut out by alphaTest)."""
    yy, xx = (np.mgrid[0:size, 0:size] + 0.5) / size - 0.5
    disc = xx**2 + yy**2 <= 0.25
    cross = (np.abs(np.abs(xx) - np.abs(yy)) < 0.06) & (np.maximum(np.abs(xx), np.abs(yy)) < 0.24)
    ring = disc & (xx**2 + yy**2 >= 0.2)
    out = np.zeros((size, size, 4), np.uint8)
    out[disc, :3] = (rgb * 0.55).astype(np.uint8)
    out[ring, :3] = rgb.astype(np.uint8)
    out[cross & disc, :3] = (20, 20, 20)
    out[disc, 3] = 255
    return out


@dataclass(frozen=True)
class AtlasLayout:
    """Where each picture of a layer sits in its atlas; depends on the shapes only."""

    shape: tuple  # (rows, cols) of the atlas array
    map_rects: np.ndarray  # (c, 4): u0, v0, u1, v1 of each map (v0 = the map's row 0)
    aggregate_rect: tuple
    button_rect: tuple
    clear_rect: tuple  # a fully transparent patch, for the invisible hit quad
    cells: tuple  # (grid cols, cell rows, cell cols), to place pictures


def atlas_layout(h, w, c):
    """Pack c maps of h x w (each with a 1-texel edge gutter), the aggregate and the button."""
    ch, cw = h + 2, w + 2
    gcols = max(1, int(np.ceil(np.sqrt(c * ch / cw))))
    grows = -(-c // gcols)
    strip = max(ch, BUTTON_PX + 2)
    height = grows * ch + strip
    width = max(gcols * cw, cw + BUTTON_PX + 2 + 4)

    def rect(r0, c0, rows, cols):  # texel block -> uv rectangle
        return (c0 / width, r0 / height, (c0 + cols) / width, (r0 + rows) / height)

    k = np.arange(c)
    r0 = (k // gcols) * ch + 1
    c0 = (k % gcols) * cw + 1
    maps = np.stack([c0 / width, r0 / height, (c0 + w) / width, (r0 + h) / height], axis=1)
    base = grows * ch
    return AtlasLayout(
        shape=(height, width),
        map_rects=maps,
        aggregate_rect=rect(base + 1, 1, h, w),
        button_rect=rect(base + 1, cw + 1, BUTTON_PX, BUTTON_PX),
        clear_rect=rect(base + 1, cw + BUTTON_PX + 3, 2, 2),
        cells=(gcols, ch, cw),
    )


def paint_atlas(layout, maps, aggregate_rgba, button_rgba):
    """The atlas image ``(rows, cols, 4)`` uint8 from ``maps (h, w, c, 4)`` and the other pictures."""
    gcols, ch, cw = layout.cells
    h, w, c, _ = maps.shape
    atlas = np.zeros((*layout.shape, 4), np.uint8)
    padded = np.pad(maps, ((1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")  # gutters repeat edges
    grows = -(-c // gcols)
    full = np.zeros((grows * gcols, ch, cw, 4), np.uint8)
    full[:c] = padded.transpose(2, 0, 1, 3)
    atlas[: grows * ch, : gcols * cw] = (
        full.reshape(grows, gcols, ch, cw, 4).transpose(0, 2, 1, 3, 4).reshape(grows * ch, gcols * cw, 4)
    )
    base = grows * ch
    atlas[base : base + ch, :cw] = np.pad(aggregate_rgba, ((1, 1), (1, 1), (0, 0)), mode="edge")
    b = button_rgba.shape[0]
    atlas[base + 1 : base + 1 + b, cw + 1 : cw + 1 + b] = button_rgba
    return atlas


RGB_TINTS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.float32)


def layer_pictures(values, shape, color, *, aggregation="mean", normalize_per="map",
                   rgb_image=False, colormap="layer"):
    """``(maps (h, w, c, 4), aggregate (h, w, 4))`` RGBA pictures of one layer.

    ``values`` is the layer's ``neural_value`` or None (then every map is the plain layer colour).
    With ``rgb_image`` (an RGB input), the open maps are tinted red, green and blue and the closed
    layer shows the colour picture itself.
    """
    h, w, c = shape
    rgb = hex_to_rgb(color)
    values, padding = _as_display(values, shape)
    if values is None:
        plain = shade(np.ones((h, w, c), np.float32), rgb)
        return plain, plain[:, :, 0]
    norm = normalize(values, normalize_per)
    if rgb_image and c == 3:
        maps = np.stack([shade(norm[..., k], RGB_TINTS[k]) for k in range(3)], axis=2)
        joint = normalize(values, "layer")
        picture = np.empty((h, w, 4), np.uint8)
        picture[..., :3] = (np.nan_to_num(joint, nan=0) * 255).astype(np.uint8)
        picture[..., 3] = 255
        picture[np.isnan(joint).any(axis=2)] = (*NAN_RGB, 255)
        return maps, picture
    maps = shade(norm, rgb, colormap)
    agg = shade(normalize(aggregate(values, aggregation)[..., None], "map")[..., 0], rgb, colormap)
    if padding is not None:  # the cells after a vector's end are left out (transparent)
        maps[padding, :, 3] = 0
        agg[padding, 3] = 0
    return maps, agg


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
