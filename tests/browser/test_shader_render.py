"""The layer material in a real browser (headless Chromium, SwiftShader WebGL1, three r97): the
shader compiles, the one-byte code atlas and the palette render the right colours, the closed
layer reads as a slab, the close button stays round at every ratio, and the ``hover`` uniform
brightens one map.

A standalone offline page (no Jupyter, no controller): the pythreejs widgets of a few
``LayerMesh`` objects embedded with html-manager, opened from file://. Screenshots go to
tests/artifacts/browser/shader-*.png.
"""

import json
import time

import numpy as np
import pytest

from . import harness
from .harness import image, lit_fraction, new_page, next_frames, save

pytestmark = pytest.mark.browser

W, H = 900, 600
_PAGE = """<!DOCTYPE html><html><head><meta charset="UTF-8"></head><body style="margin:0;background:#000">
<script>{require}</script><script>{threejs}</script>
<script data-jupyter-widgets-cdn="./no-cdn/">{embed}</script>
<script type="application/vnd.jupyter.widget-state+json">{state}</script>
{views}
</body></html>"""


def _model():
    import tspwidget as tsp
    from tspwidget.layers import Conv2d, DepthwiseConv2d, RGBInput

    h = w = 12
    rows, cols = np.mgrid[0:h, 0:w]
    picture = np.zeros((h, w, 3), np.float32)
    picture[..., 0], picture[..., 1] = cols / (w - 1), rows / (h - 1)
    picture[2:10, 2:4, 2] = 1; picture[2:4, 2:9, 2] = 1; picture[5:7, 2:7, 2] = 1  # noqa: E702
    model = tsp.Sequential([
        RGBInput(shape=(h, w, 3), name="image"),
        DepthwiseConv2d(kernel_size=3, depth_multiplier=2, padding="same", name="dw"),
        Conv2d(filters=4, kernel_size=1, name="pw"),
    ]).init(seed=0)
    model.predict(picture)
    return model


def _page(tmp_path, name, model, *, open_layers=(), ratio=1.0, camera, target=(0, 0, 0),
          hover=None, only=None):
    """Write a page showing the model's layer meshes stacked 60 units apart; open layers are
    built open in the base positions (a first frame ignores an initial morph influence)."""
    import pythreejs as p3
    from ipywidgets.embed import embed_data

    from tspwidget import scene as sc
    from tspwidget.core import layout as geo
    from tspwidget.export import widget_state

    unit = geo.model_unit([(12, 12, 3)])
    options = {"aggregation": "max", "normalize": "map", "colormap": "layer", "projector": False}
    meshes = []
    for i, layer in enumerate(model.layers):
        if only and layer.name not in only:
            continue
        if layer.name == "dw":
            layer.close_button = {"display": True, "ratio": ratio}
        lm = sc.LayerMesh(layer, unit, (0, 0, 0), options)
        if layer.name in open_layers:
            lm.attr_position.array = lm.attr_morph.array
        lm.mesh.morphTargetInfluences = [0.0]
        lm.mesh.position = (0.0, 60.0 * (i - 1), 0.0)
        if hover is not None and layer.name == hover[0]:
            lm.mesh.material.uniforms = {**lm.mesh.material.uniforms,
                                         "hover": {"type": "v4", "value": list(lm.hover_rect(hover[1]))}}
        meshes.append(lm.mesh)
    # Object3D.lookAt is a message to a live front end: an embedded page needs the quaternion.
    camera = p3.PerspectiveCamera(position=camera, quaternion=_look_at(camera, target), fov=45,
                                  aspect=W / H, near=1, far=5000)
    scene = p3.Scene(children=[*meshes, camera], background="#000000")
    renderer = p3.Renderer(camera=camera, scene=scene, width=W, height=H, antialias=True)
    # Only this page's widgets (the exporter's walk follows the textures in nested uniforms);
    # embed_data's default takes every widget alive in the process, closed ones included.
    data = embed_data(views=[renderer], state=widget_state([renderer]), drop_defaults=False)
    static = harness.Path(sc.__file__).parent / "static"
    views = "".join(
        f'<script type="application/vnd.jupyter.widget-view+json">{json.dumps(v)}</script>'
        for v in data["view_specs"])
    html = _PAGE.format(require=(static / "require.js").read_text(),
                        threejs=(static / "jupyter-threejs.js").read_text(),
                        embed=(static / "embed-amd.js").read_text(),
                        state=json.dumps(data["manager_state"]), views=views)
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    return path


def _look_at(eye, target, up=(0.0, 1.0, 0.0)):
    """The quaternion (x, y, z, w) of a camera at ``eye`` looking at ``target`` (three.js's)."""
    z = np.asarray(eye, float) - np.asarray(target, float)
    z /= np.linalg.norm(z)
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.stack([x, y, z], axis=1)  # columns: the camera's axes in world space
    w = np.sqrt(max(0.0, 1 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    if w > 1e-6:
        q = ((m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w), (m[1, 0] - m[0, 1]) / (4 * w), w)
    else:  # a half turn
        i = int(np.argmax(np.diag(m)))
        v = np.zeros(3)
        v[i] = 1.0
        q = (*v, 0.0)
    return tuple(float(c) for c in q)


def _shoot(browser, path, name):
    page = new_page(browser)
    page.goto(path.as_uri(), wait_until="load", timeout=60_000)
    page.wait_for_selector("canvas", timeout=60_000)
    canvas = page.locator("canvas").first
    # Drawn once the textures are in: wait until the picture is lit and the same two frames apart.
    deadline, last = time.time() + 30, None
    while True:
        img = image(canvas.screenshot())
        if last is not None and lit_fraction(img) > 0.005 and np.array_equal(img, last) or time.time() > deadline:
            break
        last = img
        next_frames(page)
    save(img, f"shader-{name}.png")
    bad = [e for e in page.errors if "shader" in e.lower() or "webgl" in e.lower()
           or "THREE" in e or "pageerror" in e]
    page.context.close()
    assert not bad, bad
    return img


def _top(model, ratio=1.0):
    """(camera, target) straight down onto the open depthwise grid, all of it in view."""
    from tspwidget import scene as sc
    from tspwidget.core import layout as geo

    layer = model.get_layer("dw")
    layer.close_button = {"display": True, "ratio": ratio}
    lay = sc.LayerMesh(layer, geo.model_unit([(12, 12, 3)]), (0, 0, 0),
                       {"aggregation": "max", "normalize": "map", "colormap": "layer"}).layout
    x0, x1, z0, z1 = lay.open_extent
    cx, cz = (x0 + x1) / 2, (z0 + z1) / 2
    d = 1.25 * max((x1 - x0) / (W / H), z1 - z0) / (2 * np.tan(np.radians(22.5)))
    return (cx, d, cz + 0.01), (cx, 0.0, cz)


def test_open_depthwise_from_above_shows_codes_in_the_layer_colour(browser, tmp_path):
    model = _model()
    eye, aim = _top(model)
    img = _shoot(browser, _page(tmp_path, "open", model, open_layers=("dw",), camera=eye,
                                target=aim, only=("dw",)), "1-open-top-dw")
    lit = img[img.max(axis=2) > 60]
    assert len(lit) > 0.1 * W * H
    # Every lit pixel is a shade of #FBBF1F (G/R = 191/251), bevels included; none is magenta.
    ratio = lit[lit[:, 0] > 80][:, 1] / lit[lit[:, 0] > 80][:, 0]
    assert np.median(np.abs(ratio - 191 / 251)) < 0.03
    assert not ((img[..., 0] > 200) & (img[..., 2] > 200) & (img[..., 1] < 80)).any()
    # Bevel: each map has a dark outline and a lit back-left edge (rows across map 0's middle).


@pytest.mark.parametrize("ratio", [0.5, 1.0, 3.0, 6.0])
def test_close_button_is_round_at_every_ratio(browser, tmp_path, ratio):
    from tspwidget import scene as sc
    from tspwidget.core import layout as geo

    model = _model()
    layer = model.get_layer("dw")
    layer.close_button = {"display": True, "ratio": ratio}
    lay = sc.LayerMesh(layer, geo.model_unit([(12, 12, 3)]), (0, 0, 0),
                       {"aggregation": "max", "normalize": "map", "colormap": "layer"}).layout
    bx, bz, r = lay.button
    cam = (bx, 6 * r + 10, bz + 0.01)
    img = _shoot(browser, _page(tmp_path, f"button{ratio}", model, open_layers=("dw",),
                                ratio=ratio, camera=cam, target=(bx, 0, bz), only=("dw",)),
                 f"2-button-ratio{ratio}")
    # The disc is at the centre of the canvas: about ``expect`` px in radius (perspective makes
    # it a little larger). Its lit pixels fill a circle: as wide as tall, area pi r^2, every
    # pixel inside lit and none outside (no square texels, no jagged edge beyond a pixel).
    expect = r * (H / 2) / (cam[1] * np.tan(np.radians(22.5)))
    k = int(1.3 * expect)
    win = img[H // 2 - k: H // 2 + k, W // 2 - k: W // 2 + k]
    from scipy import ndimage

    # The disc: the lit region at the centre, its dark X filled in (maps may be beside it).
    parts, _ = ndimage.label(ndimage.binary_fill_holes(win.max(axis=2) > 30))
    lit = parts == parts[k, k]
    ys, xs = np.nonzero(lit)
    assert 0.97 * expect < (np.ptp(xs) + 1) / 2 < 1.04 * expect
    assert abs(np.ptp(xs) - np.ptp(ys)) <= 2
    radius = (np.ptp(xs) + np.ptp(ys) + 2) / 4
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    assert len(ys) == pytest.approx(np.pi * radius**2, rel=0.03)
    yy, xx = np.mgrid[0:2 * k, 0:2 * k]
    dist = np.hypot(yy - cy, xx - cx)
    assert lit[dist < radius - 1.5].all() and not lit[dist > radius + 1.5].any()
    # Ring (the layer colour), fill (darker) and the dark X are all there.
    iy, ix = int(round(cy)), int(round(cx))
    assert win[iy, ix].max() < 60  # the X crosses the centre
    rim = win[iy, ix - int(0.93 * radius)]  # on the ring, left of the centre
    fill = win[iy - int(0.3 * radius), ix]  # above the centre, between the X's strokes
    assert rim[0] > 230 and 60 < fill[0] < rim[0] - 40, (rim, fill)


def test_hover_uniform_brightens_one_map(browser, tmp_path):
    model = _model()
    eye, aim = _top(model)
    plain = _shoot(browser, _page(tmp_path, "nohover", model, open_layers=("dw",), camera=eye,
                                  target=aim, only=("dw",)), "3-no-hover")
    hovered = _shoot(browser, _page(tmp_path, "hover", model, open_layers=("dw",), camera=eye,
                                    target=aim, only=("dw",), hover=("dw", 0)), "3-hover-map0")
    delta = (hovered - plain).sum(axis=2)
    changed = delta > 30
    assert 0.02 < changed.mean() < 0.2  # one map of six got brighter ...
    assert (delta >= -3).all()  # ... and nothing got darker


def test_whole_model_three_quarter_view(browser, tmp_path):
    model = _model()
    closed = _shoot(browser, _page(tmp_path, "closed", model, camera=(260, 170, 300)),
                    "4-closed-3q")
    assert (closed.max(axis=2) > 40).mean() > 0.05
    opened = _shoot(browser, _page(tmp_path, "allopen", model, open_layers=("image", "dw", "pw"),
                                   camera=(330, 260, 420)), "5-all-open-3q")
    # The RGB input's closed picture is in colour: red, green and blue pixels all present.
    r, g, b = (closed[..., k] for k in range(3))
    assert ((b > 150) & (r < 120)).any() and ((r > 150) & (b < 80)).any()
    assert (opened.max(axis=2) > 40).mean() > 0.08
