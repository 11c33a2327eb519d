"""The 3D scene in pythreejs: the only module that imports it (so it can be swapped out).

Each drawn layer is ONE mesh whatever its channel count: its quads (every feature map, the closed
aggregate and the close button) share one geometry and one atlas texture. The closed layout is
the geometry's base positions and the open layout its morph target, so opening and closing is a
morph of ``morphTargetInfluences[0]`` from 0 to 1. Nothing here animates: the browser controller
(``tspwidget.controller``) moves the morphs, the layers and the camera; Python only builds the
objects and says where things go (``core.layout``).
"""

from __future__ import annotations

import numpy as np
import pythreejs as p3

from .core import diagram as dg
from .core import kernels as kn
from .core import layout as geo
from .core import shaders, textures

LINK_POINTS = 8  # at most this many points per drawn link (the controller routes them)
HOVER_SEGMENTS = 5  # the hovered map's outline (4) and its line to the source map (1)
_EPS = 0.02  # y offsets (world units) that keep coplanar quads from z-fighting


class LayerMesh:
    """The pythreejs objects of one drawn layer (8 widget models).

    Quads, in this order in both position arrays: every map, the closed aggregate, the close
    button, then the four side faces of the closed slab (front, right, back, left; zero-sized when
    open). The material is a ``ShaderMaterial`` (``core.shaders``) reading a one-byte code atlas
    (``texture``), the layer's 256-entry palette included.
    """

    def __init__(self, layer, unit, position, options, folded=()):
        self.layer = layer
        self.options = options
        self.folded = tuple(folded)
        self.position = np.asarray(position, float)
        self.shape = shape = geo.display_shape(layer.output_shape)
        self.group_size = layer.channel_group  # a depthwise layer's maps from one input, together
        self.rgb_image = layer.is_rgb and shape[2] == 3
        self.atlas_layout = textures.atlas_layout(
            *shape, planes=textures.aggregate_planes(shape, self.rgb_image))
        self.layout = self._layout(unit)
        closed, opened = self._positions()
        self.attr_position = p3.BufferAttribute(array=closed)
        self.attr_morph = p3.BufferAttribute(array=opened)
        self.attr_uv = p3.BufferAttribute(array=self._uvs())
        self.attr_index = p3.BufferAttribute(array=_quad_index(len(closed) // 4))
        geometry = p3.BufferGeometry(
            attributes={"position": self.attr_position, "uv": self.attr_uv},
            morphAttributes={"position": [self.attr_morph]}, index=self.attr_index,
        )
        self.texture = p3.DataTexture(
            data=self._atlas(), format="LuminanceFormat", type="UnsignedByteType",
            magFilter="NearestFilter", minFilter="NearestFilter", unpackAlignment=1,
        )
        at = self.atlas_layout
        h, w = at.cell
        material = p3.ShaderMaterial(
            uniforms={  # "atlas" last and the only texture (see core.shaders)
                "cellSize": {"type": "v2", "value": [float(v) for v in at.cell_uv]},
                "aspect": {"type": "v2", "value": [w / min(h, w), h / min(h, w)]},
                "gridCols": {"type": "f", "value": float(at.grid_cols)},
                "rgbImage": {"type": "f", "value": 1.0 if self.rgb_image else 0.0},
                "paletteAt": {"type": "v3", "value": [float(at.shape[1]), float(at.shape[0]),
                                                      float(at.palette_row)]},
                "hover": {"type": "v4", "value": list(shaders.HOVER_OFF)},
                "atlas": {"type": "t", "value": self.texture},
            },
            vertexShader=shaders.VERTEX_SHADER, fragmentShader=shaders.FRAGMENT_SHADER,
            morphTargets=True, side="DoubleSide", extensions={"derivatives": True},
        )
        influence = 1.0 if layer.status == "open" else 0.0
        self.kernels = KernelMesh(layer, self.layout) if layer.name in options.get("kernels", ()) else None
        self.mesh = p3.Mesh(
            geometry, material, position=tuple(self.position), name=layer.name,
            morphTargetInfluences=[influence], frustumCulled=False, children=self.own_children,
        )

    @property
    def own_children(self):
        """Children this layer always has (its kernels, when shown); an outline may join them."""
        return () if self.kernels is None else (self.kernels.mesh,)

    # ------------------------------------------------------------------ geometry
    def _layout(self, unit):
        button = self.layer.close_button
        return geo.layer_layout(
            self.shape, unit, group_size=self.group_size,
            close_ratio=button["ratio"], show_button=button["display"],
        )

    @property
    def footprints(self):
        """(closed, open) x-z extents of this layer in its own frame (the kernels' grid, when
        shown, is part of the open one)."""
        opened = self.layout.open_extent
        if self.kernels is not None:
            opened = (opened[0], self.kernels.right, *opened[2:])
        return self.layout.closed_extent, opened

    def _positions(self):
        """(closed, open) vertex arrays, 4 vertices per quad (``attr_index`` makes the two
        triangles): every map, the aggregate, the button, then the closed slab's four side faces
        (the aggregate is the slab's top, ``geo.SLAB`` map widths above the layer plane, as
        ``layout`` boxes it)."""
        lay = self.layout
        zero = np.zeros((lay.channels, 2))
        bx, bz, r = lay.button
        button_size = 2 * r if lay.button_visible else 0.0
        mw, md = lay.map_size
        top = geo.SLAB * mw
        closed = np.concatenate([
            geo.quad_corners(zero, (0.0, 0.0)),
            geo.quad_corners([(0, 0)], lay.map_size, y=top),
            geo.quad_corners([(bx, bz)], (0.0, 0.0), y=_EPS),
            _slab_sides(mw, md, top),
        ])
        opened = np.concatenate([
            geo.quad_corners(lay.centers, lay.map_size),
            geo.quad_corners([(0, 0)], (0.0, 0.0), y=_EPS),
            geo.quad_corners([(bx, bz)], (button_size, button_size), y=_EPS),
            np.tile(np.float32([0.0, _EPS, 0.0]), (4 * 6, 1)),
        ])
        return _four_corners(closed), _four_corners(opened)

    def _uvs(self):
        """UVs: maps and aggregate a hair inside their atlas cells (nearest sampling then never
        reads a neighbour), the button's square at u in [2, 3], the side faces at u = -1 - face
        with v = 0 at the top edge (``core.shaders`` reads these)."""
        at = self.atlas_layout
        rects = _inside(np.concatenate([at.map_rects, [at.aggregate_rect]]), at.shape)
        sides = np.zeros((4, 6, 2), np.float32)
        sides[:, :, 0] = -1.0 - np.arange(4)[:, None]
        sides[:, :, 1] = [0, 0, 1, 0, 1, 1]
        return _four_corners(np.concatenate([geo.quad_uvs(rects), geo.quad_uvs([(2, 0, 3, 1)]),
                                             sides.reshape(-1, 2)]).astype(np.float32))

    def _atlas(self):
        layer = self.layer
        cells = textures.layer_codes(
            layer.neural_value, self.shape,
            aggregation=self.options["aggregation"], normalize_per=self.options["normalize"],
            rgb_image=self.rgb_image, color=layer.color,
        )
        if layer.name in self.options.get("placeholders", ()):  # a quiz hides the real maps
            cells[cells != textures.CODE_CLEAR] = textures.PLACEHOLDER_CODE
        palette = textures.palette(layer.color, self.options["colormap"], self.rgb_image)
        return textures.paint_atlas(self.atlas_layout, cells, palette)

    def hover_rect(self, channel):
        """The atlas UV rectangle ``(u0, v0, u1, v1)`` of one map (None: the closed aggregate),
        the value the material's ``hover`` uniform takes to brighten it (``core.shaders``)."""
        at = self.atlas_layout
        rect = at.aggregate_rect if channel is None else at.map_rects[channel]
        return tuple(float(v) for v in rect)

    @property
    def widgets(self):
        """Every widget model this layer owns."""
        mesh = self.mesh
        own = (self.texture, mesh.material, self.attr_position, self.attr_uv, self.attr_morph,
               self.attr_index, mesh.geometry, mesh)
        return own if self.kernels is None else own + self.kernels.widgets

    def close(self):
        """Close this layer's widget models (the browser forgets them too)."""
        for widget in self.widgets:
            widget.close()

    # ------------------------------------------------------------------ updates
    def refresh_texture(self):
        """Re-send the atlas if anything in it changed (values, normalisation, aggregation, or
        the palette rows: colour, colormap), and the kernels' colours; True if anything was sent."""
        atlas = self._atlas()
        changed = not np.array_equal(atlas, self.texture.data)
        if changed:
            self.texture.data = atlas
        kernels = self.kernels is not None and self.kernels.refresh()
        return changed or kernels

    def refresh_geometry(self, unit):
        """Re-lay the quads after a close-button change (same number of quads)."""
        self.layout = self._layout(unit)
        closed, opened = self._positions()
        self.attr_position.array = closed
        self.attr_morph.array = opened

    def locate(self, status, x, z):
        """What a point ``(x, z)`` of this layer's plane falls on (``LayerLayout.locate``)."""
        return self.layout.locate(status, x, z)


def _inside(rects, shape):
    """Atlas rectangles moved a hair inside their cells (2% of a texel of an atlas of ``shape``
    rows x cols): nearest sampling then never reads a neighbour."""
    H, W = shape[:2]
    return np.asarray(rects, float) + np.array([1, 1, -1, -1]) * 0.02 * np.array([1 / W, 1 / H, 1 / W, 1 / H])


def _four_corners(vertices):
    """Quads given as two triangles (6 vertices, ``geo.quad_corners``' order) -> their 4 corners."""
    vertices = np.asarray(vertices)
    return np.ascontiguousarray(
        vertices.reshape(-1, 6, vertices.shape[-1])[:, [0, 1, 2, 5]].reshape(-1, vertices.shape[-1]))


def _quad_index(n_quads):
    """The index buffer of n quads of 4 corners: triangles (0, 1, 2) and (0, 2, 3) of each."""
    base = 4 * np.arange(n_quads)[:, None]
    index = (base + [0, 1, 2, 0, 2, 3]).reshape(-1)
    return index.astype(np.uint16 if 4 * n_quads <= 65536 else np.uint32)


def _slab_sides(mw, md, top):
    """Vertices ``(24, 3)`` of the four side faces of a ``mw x md`` slab from y = 0 to ``top``:
    front (+z), right (+x), back (-z), left (-x); each from edge A to edge B as (A top, B top,
    B bottom, A top, B bottom, A bottom)."""
    x0, x1, z0, z1 = -mw / 2, mw / 2, -md / 2, md / 2
    edges = [((x0, z1), (x1, z1)), ((x1, z1), (x1, z0)), ((x1, z0), (x0, z0)), ((x0, z0), (x0, z1))]
    out = []
    for (ax, az), (bx, bz) in edges:
        out += [(ax, top, az), (bx, top, bz), (bx, 0.0, bz), (ax, top, az), (bx, 0.0, bz), (ax, 0.0, az)]
    return np.array(out, np.float32)


def _line_object(n_points, color, opacity, render_order):
    attr = p3.BufferAttribute(array=np.zeros((max(n_points, 2), 3), np.float32))
    line = p3.LineSegments(
        p3.BufferGeometry(attributes={"position": attr}),
        p3.LineBasicMaterial(color=color, transparent=True, opacity=opacity, depthTest=False),
        renderOrder=render_order, frustumCulled=False,
    )
    return line, attr


class KernelMesh:
    """A depthwise layer's kernels beside its open grid (``core.kernels``): one mesh, a child of
    the layer's, 7 widget models. The browser controller scales it with the layer's morph, so
    the kernels fly out with the maps and fold away with them."""

    def __init__(self, layer, layout):
        self.layer = layer
        kernels = kn.per_output_channel(layer.kernel)
        atlas, rects = kn.kernel_atlas(kernels)
        centers, size, self.right = kn.kernel_grid(layout, kernels.shape[1:])
        self.attr_position = p3.BufferAttribute(array=_four_corners(geo.quad_corners(centers, size, y=_EPS)))
        self.attr_uv = p3.BufferAttribute(array=_four_corners(geo.quad_uvs(_inside(rects, atlas.shape))))
        self.attr_index = p3.BufferAttribute(array=_quad_index(len(kernels)))
        self.texture = p3.DataTexture(data=atlas, format="RGBAFormat", type="UnsignedByteType",
                                      magFilter="NearestFilter", minFilter="NearestFilter")
        geometry = p3.BufferGeometry(attributes={"position": self.attr_position, "uv": self.attr_uv},
                                     index=self.attr_index)
        material = p3.MeshBasicMaterial(map=self.texture, side="DoubleSide")
        self.mesh = p3.Mesh(geometry, material, name="kernels", frustumCulled=False)
        self.fold(layer.status)

    def fold(self, status):
        """The scale the kernels end at for a status. The browser controller scales them with
        the layer's morph while it animates; this final value also reaches a kernels mesh that
        arrives in the browser after the animation (a rebuild just before an open)."""
        scale = 1.0 if status == "open" else kn.FOLDED
        self.mesh.scale = (scale, scale, scale)

    @property
    def widgets(self):
        mesh = self.mesh
        return (self.texture, mesh.material, self.attr_position, self.attr_uv, self.attr_index,
                mesh.geometry, mesh)

    def refresh(self):
        """Re-send the colours if the weights changed (a checkpoint swapped in); True if sent."""
        atlas, _ = kn.kernel_atlas(kn.per_output_channel(self.layer.kernel))
        if np.array_equal(atlas, self.texture.data):
            return False
        self.texture.data = atlas
        return True


class Scene:
    """Every drawn layer as a mesh, the links between them, camera and orbit controls."""

    def __init__(self, model, *, width, height, background, aggregation, normalize, hide=(),
                 colormap="layer", projector=False, fold=True):
        self.model = model
        self.hide = tuple(hide)
        self.fold = fold
        self.width, self.height = width, height
        self.options = {"aggregation": aggregation, "normalize": normalize, "colormap": colormap,
                        "projector": projector, "kernels": frozenset(), "placeholders": set()}
        self.group = p3.Group()
        self.camera = p3.PerspectiveCamera(fov=geo.FOV, aspect=width / height, near=0.5, far=50000)
        self.orbit = p3.OrbitControls(controlling=self.camera)
        self.scene = p3.Scene(children=[self.group, self.camera], background=background)
        self.renderer = p3.Renderer(
            camera=self.camera, scene=self.scene, controls=[self.orbit],
            width=width, height=height, antialias=True,
        )
        self.hover, _ = _line_object(2 * HOVER_SEGMENTS, "#FFFFFF", 0.9, 3)
        self._outline = None
        self.layers = {}
        self.links = None
        self.build()

    def build(self):
        """(Re)create every layer mesh from the model's current shapes and values."""
        old = list(self.layers.values())
        old_links = self.links
        self.diagram = dia = dg.build(self.model, hide=self.hide, fold=self.fold)
        self.unit = geo.model_unit([layer.output_shape for layer in self.model.inputs])
        layers = {}
        for layer in dia.layers:
            layers[layer.name] = LayerMesh(layer, self.unit, (0.0, 0.0, 0.0), self.options,
                                           dia.folded.get(layer.name, ()))
        self.layers = layers
        self.plan = self._plan()
        self.arrangement = geo.arrange(self.plan, self.open_flags())
        for lm, pos in zip(self.layers.values(), self.arrangement.positions):
            lm.position = pos
            lm.mesh.position = tuple(float(v) for v in pos)
        n_links = sum(len(i) for i in dia.inputs)
        self.links, _ = _line_object(2 * (LINK_POINTS - 1) * n_links, "#8A8A8A", 0.75, 0)
        self.group.children = (*(lm.mesh for lm in self.layers.values()), self.links, self.hover)
        self._outline = None
        for lm in old:
            lm.close()
        if old_links is not None:
            for widget in (old_links.geometry.attributes["position"], old_links.geometry,
                           old_links.material, old_links):
                widget.close()
        if not old:  # a rebuild leaves the camera to the browser: it eases to the new framing
            self.reset_camera()

    def _plan(self):
        dia = self.diagram
        nodes = []
        shorts = dg.short_labels(dia)
        for i, (name, lm) in enumerate(self.layers.items()):
            closed, opened = lm.footprints
            nodes.append(geo.Node(name, dia.levels[i], dia.inputs[i], closed, opened,
                                  dg.label_text(lm.layer, lm.folded), shorts[i]))
        goal = geo.PROJECTOR_PX if self.options["projector"] else geo.LABEL_PX
        return geo.make_plan(nodes, width=self.width, height=self.height,
                             open_flags=self.open_flags(), label_px_goal=goal)

    def show_model(self, model):
        """Draw ``model`` instead: on the meshes already built if its drawn layers have the same
        names, shapes and grouping (new maps and labels, no new widget models; returns True),
        else on new ones (``build``; returns False)."""
        dia = dg.build(model, hide=self.hide, fold=self.fold)
        old = list(self.layers.values())
        fits = len(dia.layers) == len(old) and all(
            layer.name == lm.layer.name and layer.output_shape == lm.layer.output_shape
            and layer.channel_group == lm.layer.channel_group and layer.is_rgb == lm.layer.is_rgb
            and hasattr(layer, "kernel") == hasattr(lm.layer, "kernel")
            and (lm.kernels is None or layer.kernel.shape == lm.layer.kernel.shape)
            for layer, lm in zip(dia.layers, old))
        self.model = model
        if not fits:
            self.build()
            return False
        self.diagram = dia
        for layer, lm in zip(dia.layers, old):
            lm.layer, lm.folded = layer, tuple(dia.folded.get(layer.name, ()))
            if lm.kernels is not None:
                lm.kernels.layer = layer
            lm.refresh_texture()
        self.plan = self._plan()  # the labels say the new settings
        self.arrangement = geo.arrange(self.plan, self.open_flags())
        return True

    def set_options(self, **changes):
        """Change drawing options: ``aggregation``, ``normalize``, ``colormap`` (then refresh the
        textures), ``projector`` or ``kernels`` (a set of layer names; then ``build()``)."""
        allowed = ("aggregation", "normalize", "colormap", "projector", "kernels")
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise KeyError(f"scene options {unknown} do not exist; the options are {list(allowed)}")
        self.options.update(changes)

    def hide_maps(self, name, hidden):
        """Draw layer ``name``'s maps as one flat placeholder shade (a quiz), or as they are."""
        hide = self.options["placeholders"]
        hide.add(name) if hidden else hide.discard(name)
        self.layers[name].refresh_texture()

    def open_flags(self, status=None):
        """One bool per drawn layer: open? (``status`` maps names to statuses; default: now)."""
        return [(status or {}).get(name, lm.layer.status) == "open" for name, lm in self.layers.items()]

    def home(self, status=None):
        """The default camera ``(position, target)`` for the statuses (default: as they are)."""
        arr = geo.arrange(self.plan, self.open_flags(status))
        return geo.frame(geo.screen_extent(arr), self.width / self.height)

    def reset_camera(self):
        position, target = self.home()
        self.camera.position = tuple(float(v) for v in position)
        self.camera.lookAt(tuple(float(v) for v in target))
        self.orbit.target = tuple(float(v) for v in target)

    def close(self):
        for lm in self.layers.values():
            lm.close()
        for widget in (self.renderer, self.orbit, self.scene, self.camera, self.group):
            widget.close()

    # ------------------------------------------------------------------ geometry as data
    def pick_geometry(self):
        """Per layer, what the browser controller needs to pick, hover and route links: the
        open grid (rows, cols, map size, centres, button) and the atlas grid, from which it
        computes the ``hover`` uniform's rectangle of any map (``AtlasLayout.rect``)."""
        index = {name: i for i, name in enumerate(self.layers)}
        out = []
        for lm in self.layers.values():
            lay, at = lm.layout, lm.atlas_layout
            entry = {"rows": int(lay.rows), "cols": int(lay.cols),
                     "map_size": [float(v) for v in lay.map_size],
                     "centers": [float(v) for v in lay.centers.reshape(-1)],
                     "button": [float(v) for v in lay.button],
                     "button_visible": bool(lay.button_visible and lay.channels > 1),
                     "atlas": {"shape": [int(v) for v in at.shape], "cell": [int(v) for v in at.cell],
                               "grid_cols": int(at.grid_cols), "aggregate": int(lay.channels)}}
            if hasattr(lm.layer, "source_channel") and lm.layer.inbound_layers:  # depthwise
                src = dg.drawn_input(self.diagram, lm.layer)
                if src in index:
                    entry["source"] = {"node": index[src], "group": int(lm.layer.channel_group)}
            out.append(entry)
        return out

    def boxes(self, status=None):
        """World boxes of every drawn layer's maps, label and button, for the statuses."""
        return self._boxes(self.open_flags(status))[0]

    def _boxes(self, flags):
        arr = geo.arrange(self.plan, flags)
        out = {}
        for i, (name, lm) in enumerate(self.layers.items()):
            button = None
            if flags[i] and lm.layout.button_visible and lm.layout.channels > 1:
                bx, bz, r = lm.layout.button
                x, y, z = arr.positions[i]
                button = (x + bx - r, y, z + bz - r, x + bx + r, y + _EPS, z + bz + r)
            out[name] = {"maps": arr.map_box(i), "label": arr.label_box(i), "button": button}
        return out, arr

    def screen_boxes(self, status=None):
        """``boxes`` projected to canvas pixels ``(x0, y0, x1, y1)`` for the default camera, and
        each label's height in pixels (``"label_px"``)."""
        boxes, arr = self._boxes(self.open_flags(status))
        eye, aim = geo.frame(geo.screen_extent(arr), self.width / self.height)
        out = {}
        for i, (name, box) in enumerate(boxes.items()):
            entry = {key: (None if b is None else self._project_box(b, eye, aim))
                     for key, b in box.items() if key != "label"}
            ax, ay = self._to_pixels(arr.label_anchor(i), eye, aim)
            px = geo.label_px(arr, i, eye, aim, geo.FOV, self.height)
            entry["label"] = (ax, ay - px / 2, ax + px * arr.label_width[i] / arr.label_h, ay + px / 2)
            entry["label_px"] = px
            out[name] = entry
        return out

    def _to_pixels(self, point, eye, aim):
        ndc = geo.project(point, eye, aim, geo.FOV, self.width / self.height)[0]
        return float((ndc[0] + 1) / 2 * self.width), float((1 - ndc[1]) / 2 * self.height)

    def _project_box(self, box, eye, aim):
        x0, y0, z0, x1, y1, z1 = box
        corners = [(x, y, z) for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)]
        pts = [self._to_pixels(c, eye, aim) for c in corners]
        xs, ys = zip(*pts)
        return (min(xs), min(ys), max(xs), max(ys))

    def screen_point(self, layer_name, x, z, status=None, focus=None):
        """Canvas pixel ``(px, py)`` of the point ``(x, z)`` of a layer's plane, for the statuses
        (default: as they are) and the camera the controller ends at: the default one, or the
        one that frames layer ``focus``."""
        arr = geo.arrange(self.plan, self.open_flags(status))
        if focus is None:
            eye, aim = geo.frame(geo.screen_extent(arr), self.width / self.height)
        else:
            eye, aim = geo.focus_camera(arr, list(self.layers).index(focus), self.width / self.height)
        i = list(self.layers).index(layer_name)
        return self._to_pixels(arr.positions[i] + (x, 0.0, z), eye, aim)

    def highlight(self, layer_name, channel, rows, cols):
        """Outline input rows x cols of one map of a layer (its aggregate when closed): one
        line object, a child of that layer's mesh so that it moves with the layer."""
        lm = self.layers.get(layer_name)
        if lm is None:
            return
        lay = lm.layout
        mw, md = lay.map_size
        cx, cz = lay.centers[channel] if lm.layer.status == "open" else (0.0, 0.0)
        x0 = cx - mw / 2 + min(cols) * mw / lay.cols
        x1 = cx - mw / 2 + (max(cols) + 1) * mw / lay.cols
        z0 = cz - md / 2 + min(rows) * md / lay.rows
        z1 = cz - md / 2 + (max(rows) + 1) * md / lay.rows
        y = 4 * _EPS
        corners = [(x0, z0), (x1, z0), (x1, z1), (x0, z1)]
        segments = np.array([(x, y, z) for a, b in zip(corners, corners[1:] + corners[:1])
                             for x, z in (a, b)], np.float32)
        if self._outline is None:
            self._outline, self._outline_attr = _line_object(8, "#FFFFFF", 1.0, 2)
        self._outline_attr.array = segments
        for other in self.layers.values():
            if other is not lm and self._outline in other.mesh.children:
                other.mesh.children = other.own_children
        lm.mesh.children = (*lm.own_children, self._outline)

    def clear_highlight(self):
        for lm in self.layers.values():
            if lm.mesh.children != lm.own_children:
                lm.mesh.children = lm.own_children
