"""Pure geometry: grids, depthwise grouping, close button, orientation, picking, projection."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tspwidget.core import layout as geo


@pytest.mark.parametrize("n,expected", [(1, (1, 1)), (6, (3, 2)), (7, (3, 3)), (13, (4, 4)),
                                        (32, (6, 6)), (1024, (32, 32))])
def test_grid_is_near_square_and_never_a_strip(n, expected):
    assert geo.grid_shape(n) == expected  # TensorSpace gives 7x1 for 7 and 13x1-like strips


def _overlap(a_center, b_center, size):
    return all(abs(a_center[i] - b_center[i]) < size[i] - 1e-9 for i in range(2))


def test_open_maps_do_not_overlap_and_keep_h_by_w():
    lay = geo.layer_layout((12, 24, 8), unit=2.0)
    assert lay.map_size == (48.0, 24.0)  # w along x, h along z: never swapped (TensorSpace S8)
    for i in range(8):
        for j in range(i + 1, 8):
            assert not _overlap(lay.centers[i], lay.centers[j], lay.map_size)


def test_depthwise_groups_are_visibly_separate():
    lay = geo.layer_layout((10, 10, 12), unit=1.0, group_size=3)
    mw = lay.map_size[0]
    within = [lay.centers[g * 3 + m + 1, 0] - lay.centers[g * 3 + m, 0] - mw
              for g in range(4) for m in range(2)]
    assert np.allclose(within, within[0]) and within[0] < 0.3 * mw
    # Between the last map of a group and the first of the next one in the same row:
    between = lay.centers[3, 0] - lay.centers[2, 0] - mw
    assert between > 3 * within[0]
    # Each group's maps share a row.
    for g in range(4):
        assert len({lay.centers[g * 3 + m, 1] for m in range(3)}) == 1


@settings(max_examples=200, deadline=None)
@given(ratio=st.floats(0.01, 10), c=st.integers(1, 64), h=st.integers(1, 30), w=st.integers(1, 30),
       group=st.sampled_from([1, 2]))
def test_close_button_never_overlaps_a_map(ratio, c, h, w, group):
    c = c * group
    lay = geo.layer_layout((h, w, c), unit=1.0, group_size=group, close_ratio=ratio)
    bx, bz, r = lay.button
    mw, md = lay.map_size
    for cx, cz in lay.centers:
        # Distance from the button centre to the nearest point of the map rectangle.
        dx = max(abs(bx - cx) - mw / 2, 0)
        dz = max(abs(bz - cz) - md / 2, 0)
        assert dx * dx + dz * dz > r * r
    assert bx + r < lay.centers[:, 0].min() - mw / 2


def test_close_button_radius_scales_with_ratio():
    r1 = geo.layer_layout((12, 12, 6), 1.0, close_ratio=1).button[2]
    r3 = geo.layer_layout((12, 12, 6), 1.0, close_ratio=3).button[2]
    assert r3 == pytest.approx(3 * r1)


def test_locate_maps_rows_to_far_edge_and_columns_to_the_left():
    lay = geo.layer_layout((4, 8, 2), unit=1.0)
    (cx, cz), (mw, md) = lay.centers[1], lay.map_size
    top_left = (cx - mw / 2 + 0.1, cz - md / 2 + 0.1)
    bottom_right = (cx + mw / 2 - 0.1, cz + md / 2 - 0.1)
    assert lay.locate("open", *top_left) == ("map", 1, 0, 0)
    assert lay.locate("open", *bottom_right) == ("map", 1, 3, 7)
    assert lay.locate("close", -3.9, -1.9) == ("aggregate", 0, 0)
    assert lay.locate("close", 30, 30) is None
    assert lay.locate("open", *lay.button[:2]) == ("button",)
    hidden = geo.layer_layout((4, 8, 2), unit=1.0, show_button=False)
    assert hidden.locate("open", *hidden.button[:2]) is None


def test_quads_and_uvs_put_row_zero_at_the_far_edge():
    corners = geo.quad_corners([(0, 0)], (2, 4))
    uvs = geo.quad_uvs([(0.1, 0.2, 0.3, 0.6)])
    far = corners[:, 2] < 0
    assert np.allclose(uvs[far, 1], 0.2) and np.allclose(uvs[~far, 1], 0.6)
    left = corners[:, 0] < 0
    assert np.allclose(uvs[left, 0], 0.1)


def test_layers_stack_up_and_siblings_sit_side_by_side():
    pos = geo.layer_positions([100, 100, 50, 50], [0, 1, 2, 2])
    assert pos[1, 1] - pos[0, 1] == geo.LAYER_PITCH
    assert pos[2, 1] == pos[3, 1] and pos[2, 0] < pos[3, 0]
    assert pos[1, 1] == 0  # three levels, centred on the middle one


def test_projection_centre_and_orientation():
    ndc = geo.project([(0, 0, 0), (10, 0, 0), (0, 10, 0)], (0, 0, 100), (0, 0, 0), 45, 2.0)
    assert np.allclose(ndc[0], 0)
    assert ndc[1, 0] > 0 and ndc[2, 1] > 0
    position, target = geo.default_camera((-50, -10, -50), (50, 10, 50), 4 / 3)
    inside = geo.project([(-50, -10, -50), (50, 10, 50)], position, target, 45, 4 / 3)
    assert np.all(np.abs(inside) < 1)


def test_deep_small_layers_stack_closer_and_framing_is_bounded():
    pos = geo.layer_positions([100, 10, 10], [0, 1, 2], depths=[100, 10, 5])
    assert np.diff(pos[:, 1]).tolist() == [80.0, 24.0]
    lo, hi = geo.framing((-50, 0, -50), (50, 0, 50), (-500, 0, -60), (120, 0, 60), max_zoom_out=2.0)
    assert tuple(lo) == (-100, 0, -60) and tuple(hi) == (100, 0, 60)


def test_levels_skip_hidden_layers():
    class L:
        def __init__(self, *inbound):
            self.inbound_layers = list(inbound)

    a = L(); b = L(a); c = L(b); d = L(c)
    assert geo.levels([a, b, c, d]) == [0, 1, 2, 3]
    assert geo.levels([a, b, c, d], [a, c, d]) == [0, 1, 2]
