"""A depthwise layer's kernels as small pictures beside its open grid (numpy only).

One ``kh x kw`` kernel per output channel (``kernel[:, :, c, m]`` makes map ``c*M + m``), drawn as
a copy of the open grid at ``SCALE`` of its size, right of it: kernel k sits where map k sits in
the grid, so a student reads them side by side. Colours are diverging and symmetric about zero
(one scale for the whole layer, so kernels compare with each other and across checkpoints).
"""

from __future__ import annotations

import math

import numpy as np

SCALE = 0.4  # the kernels' grid, as a share of the open grid's size
GAP = 0.6  # map widths between the open grid and the kernels' grid
ZERO_RGB = np.array([34, 34, 34], np.float32)  # a zero weight: nearly the background
POSITIVE_RGB = np.array([255, 176, 48], np.float32)  # orange
NEGATIVE_RGB = np.array([64, 156, 255], np.float32)  # blue: reads in every colour-vision type
NAN_RGB = np.array([255, 0, 255], np.float32)
FOLDED = 1e-4  # the kernels' scale while their layer is closed (0 would make a singular matrix)


def per_output_channel(kernel):
    """``(kh, kw, c, M)`` -> ``(c*M, kh, kw)``, output channel ``c*M + m`` at index ``c*M + m``."""
    kh, kw, c, m = kernel.shape
    return np.ascontiguousarray(np.moveaxis(np.asarray(kernel), (0, 1), (2, 3)).reshape(c * m, kh, kw))


def kernel_colours(kernels):
    """RGB uint8 ``(n, kh, kw, 3)`` of ``(n, kh, kw)`` weights; also the scale ``max |w|``."""
    k = np.asarray(kernels, np.float64)
    finite = np.isfinite(k)
    scale = float(np.abs(k[finite]).max()) if finite.any() else 0.0
    t = np.clip(np.where(finite, k, 0.0) / scale, -1, 1) if scale > 0 else np.zeros_like(k)
    toward = np.where((t >= 0)[..., None], POSITIVE_RGB, NEGATIVE_RGB)
    rgb = ZERO_RGB + (toward - ZERO_RGB) * np.abs(t)[..., None]
    rgb[~finite] = NAN_RGB
    return rgb.round().astype(np.uint8), scale


def kernel_atlas(kernels):
    """RGBA atlas ``(rows, cols, 4)`` of ``(n, kh, kw)`` weights, one cell per kernel (row-major
    in a near-square grid, no gutters: sampled nearest with UVs inside each cell), and each
    kernel's UV rectangle ``(n, 4)``: ``u0, v0, u1, v1`` with v0 at the kernel's row 0."""
    n, kh, kw = np.shape(kernels)
    gcols = max(1, math.ceil(math.sqrt(n * kh / kw)))
    grows = -(-n // gcols)
    atlas = np.zeros((grows * kh, gcols * kw, 4), np.uint8)
    rgb, _ = kernel_colours(kernels)
    k = np.arange(n)
    r0, c0 = (k // gcols) * kh, (k % gcols) * kw
    for i in range(n):
        atlas[r0[i]:r0[i] + kh, c0[i]:c0[i] + kw, :3] = rgb[i]
    atlas[..., 3] = 255
    H, W = atlas.shape[:2]
    rects = np.stack([c0 / W, r0 / H, (c0 + kw) / W, (r0 + kh) / H], axis=1)
    return atlas, rects


def kernel_grid(layout, kernel_hw):
    """Where the kernels go, in the layer's frame: ``(centers (n, 2), size (w, d))``, and how far
    right the open footprint then reaches (``x`` of the grid's right edge)."""
    mw, md = layout.map_size
    xs = layout.centers[:, 0]
    grid_x0, grid_x1 = xs.min() - mw / 2, xs.max() + mw / 2
    dx = grid_x1 + GAP * mw - SCALE * grid_x0
    centers = np.stack([SCALE * xs + dx, SCALE * layout.centers[:, 1]], axis=1)
    kh, kw = kernel_hw
    side = SCALE * min(mw, md)  # a kernel's pixels are square whatever the maps' shape
    size = (side * kw / max(kh, kw), side * kh / max(kh, kw))
    return centers, size, float(centers[:, 0].max() + size[0] / 2)
