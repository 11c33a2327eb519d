"""Pure geometry: grids, depthwise grouping, close button, orientation, picking, projection."""

import warnings

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
    assert lay.locate("close", -mw / 2 + 0.1, -md / 2 + 0.1) == ("aggregate", 0, 0)
    assert lay.locate("close", mw, md) is None
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


def _nodes(levels, depth=100.0, inputs=None):
    inputs = inputs or [() if i == 0 else (i - 1,) for i in range(len(levels))]
    foot = (-depth / 2, depth / 2, -depth / 2, depth / 2)
    return [geo.Node(f"n{i}", lev, tuple(inputs[i]), foot, tuple(3 * v for v in foot), f"n{i} · full", f"n{i}")
            for i, lev in enumerate(levels)]


def test_levels_stack_up_siblings_side_by_side_and_an_open_layer_makes_room():
    nodes = _nodes([0, 1, 2, 2], inputs=[(), (0,), (1,), (1,)])
    plan = geo.Plan(tuple(nodes), (0, 0, 0), 5.0, False, 1.6)
    closed = geo.arrange(plan, [False] * 4)
    pos = closed.positions
    assert pos[0, 1] < pos[1, 1] < pos[2, 1] == pos[3, 1]
    assert pos[0, 0] == pos[1, 0] and pos[2, 0] < pos[3, 0]  # a lone layer stays on the axis
    opened = geo.arrange(plan, [False, True, False, False])
    assert opened.positions[2, 1] - opened.positions[0, 1] > pos[2, 1] - pos[0, 1]  # room to open
    # Labels keep their size on screen at the default camera: bigger in world units now.
    assert opened.label_h > closed.label_h


def test_frame_shows_the_extent_and_projection_orientation():
    ndc = geo.project([(0, 0, 0), (10, 0, 0), (0, 10, 0)], (0, 0, 100), (0, 0, 0), 45, 2.0)
    assert np.allclose(ndc[0], 0)
    assert ndc[1, 0] > 0 and ndc[2, 1] > 0
    nodes = _nodes([0, 1, 2])
    arr = geo.arrange(geo.Plan(tuple(nodes), (0, 0, 0), 5.0, False, 4 / 3), [False] * 3)
    eye, aim = geo.frame(geo.screen_extent(arr), 4 / 3)
    corners = [(x, y, z) for i in range(3) for x, y, z in (arr.map_box(i)[:3], arr.map_box(i)[3:])]
    inside = geo.project(corners, eye, aim, geo.FOV, 4 / 3)
    assert np.all(np.abs(inside) < 1) and np.abs(inside).max() > 0.5


def test_deep_models_wrap_into_columns_at_clean_breaks():
    n = 60
    nodes = _nodes(list(range(n)), depth=10.0)
    plan = geo.make_plan(nodes, width=800, height=500)
    assert max(plan.level_column) >= 1  # one 60-level column could not show 13 px labels
    assert list(plan.level_column) == sorted(plan.level_column)
    # A skip link (0 -> 2) forbids a break after level 1 (two sources would cross it), not after 0.
    skip = _nodes([0, 1, 2], inputs=[(), (0,), (0, 1)])
    assert geo.clean_breaks(skip) == [0]


def test_labels_shrink_to_the_smallest_readable_size_before_a_warning():
    # 200 levels: 13 px and 11.7 px labels do not fit at 800x500; 11 px (MIN_LABEL_PX) do.
    nodes = _nodes(list(range(200)), depth=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = geo.make_plan(nodes, width=800, height=500)
    assert plan.label_px == geo.MIN_LABEL_PX
    with pytest.warns(UserWarning, match=r"labels are only [3579] px"):
        geo.make_plan(_nodes(list(range(400)), depth=10.0), width=800, height=500)


def test_levels_skip_hidden_layers():
    class L:
        def __init__(self, *inbound):
            self.inbound_layers = list(inbound)

    a = L(); b = L(a); c = L(b); d = L(c)
    assert geo.levels([a, b, c, d]) == [0, 1, 2, 3]
    assert geo.levels([a, b, c, d], [a, c, d]) == [0, 1, 2]


def test_small_maps_are_drawn_at_least_a_share_of_the_model_width():
    unit = geo.model_unit([(224, 224, 3)])
    big = geo.layer_layout((112, 112, 4), unit)
    assert big.map_size == pytest.approx((50.0, 50.0))  # large maps keep their true scale
    small = geo.layer_layout((7, 14, 4), unit)  # 14 px -> 6.25 units: grown, aspect kept
    side = geo.MIN_MAP_SHARE * geo.MODEL_WIDTH
    assert small.map_size == pytest.approx((side, side / 2))
