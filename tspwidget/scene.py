"""The 3D scene in pythreejs: the only module that imports it (so it can be swapped out).

Each layer is ONE mesh whatever its channel count: its quads (every feature map, the closed
aggregate, the close button, and an invisible hit quad) share one geometry and one atlas texture.
The closed and open layouts are the geometry's base and morph positions, so opening and closing is
a morph animated in the browser by an ``AnimationAction``: Python only sends where to go and
"play" (three messages per toggle, never frames). Per layer there are 12 widget models: mesh,
geometry, 3 attributes, texture, material, label sprite + material + text, mixer, action.
"""

from __future__ import annotations

import time

import ipywidgets as widgets
import numpy as np
import pythreejs as p3

from .core import layout as geo
from .core import textures

CLIP_SECONDS = 1.0  # the shared clip runs 0 -> 1 in one second; actions scale it to anime_time
_EPS = 0.02  # y offsets (world units) that keep coplanar quads from z-fighting


def _shared_clip():
    track = p3.NumberKeyframeTrack(
        name=".morphTargetInfluences[0]", times=[0.0, CLIP_SECONDS], values=[0.0, 1.0]
    )
    return p3.AnimationClip(tracks=[track], duration=CLIP_SECONDS)


def label_text(layer):
    """Name, type, configuration and output shape; for a vector, its three largest entries."""
    config = f" {layer.config_text}" if layer.config_text else ""
    text = f"{layer.name} · {layer.layer_type}{config} · {'x'.join(map(str, layer.output_shape))}"
    values = layer.neural_value
    if values is not None and values.ndim == 1 and np.isfinite(values).all():
        top = np.argsort(values)[::-1][:3]
        text += " · top " + ", ".join(f"#{i} {values[i]:.3g}" for i in top)
    return text


def label_width(text, height):
    """World width of a label: the canvas is as wide as the text (and square)."""
    return 0.56 * height * len(text)


class LayerMesh:
    """The pythreejs objects of one layer, and its open/close animation state."""

    def __init__(self, layer, unit, position, clip, options, action_layout):
        self.layer = layer
        self.options = options
        self.position = np.asarray(position, float)
        self.shape = shape = geo.display_shape(layer.output_shape)
        self.group_size = getattr(layer, "depth_multiplier", 1) if layer.layer_type == "DepthwiseConv2d" else 1
        self.atlas_layout = textures.atlas_layout(*shape)
        self.layout = self._layout(unit)
        self.base_open = layer.status == "open"
        base, morph = self._positions()
        self.attr_position = p3.BufferAttribute(array=base)
        self.attr_morph = p3.BufferAttribute(array=morph)
        self.attr_uv = p3.BufferAttribute(array=self._uvs())
        geometry = p3.BufferGeometry(
            attributes={"position": self.attr_position, "uv": self.attr_uv},
            morphAttributes={"position": [self.attr_morph]},
        )
        self.texture = p3.DataTexture(
            data=self._atlas(), format="RGBAFormat", type="UnsignedByteType",
            magFilter="NearestFilter", minFilter="NearestFilter",
        )
        material = p3.MeshBasicMaterial(
            map=self.texture, morphTargets=True, side="DoubleSide", alphaTest=0.5
        )
        self.mesh = p3.Mesh(
            geometry, material, position=tuple(self.position), name=layer.name,
            morphTargetInfluences=[0.0], frustumCulled=False,
        )
        self.label = self._label(unit)
        self.action = p3.AnimationAction(
            p3.AnimationMixer(self.mesh), clip, self.mesh, loop="LoopOnce",
            clampWhenFinished=True, layout=action_layout,  # a DOMWidget: share its Layout model
        )
        # Influence of the morph (0 = base layout) as Python last set it moving.
        self._anim = (0.0, 0.0, 0, 1.0)  # (start time, start influence, direction, seconds)

    # ------------------------------------------------------------------ geometry
    def _layout(self, unit):
        button = self.layer.close_button
        return geo.layer_layout(
            self.shape, unit, group_size=self.group_size,
            close_ratio=button["ratio"], show_button=button["display"],
        )

    def _hit_rect(self):
        lo = np.minimum(self.layout.open_extent, self.layout.closed_extent)
        hi = np.maximum(self.layout.open_extent, self.layout.closed_extent)
        xmin, xmax, zmin, zmax = lo[0], hi[1], lo[2], hi[3]
        return ((xmin + xmax) / 2, (zmin + zmax) / 2), (xmax - xmin, zmax - zmin)

    def _positions(self):
        """(base, morph) vertex arrays: the layout at build time, and the other one."""
        lay = self.layout
        c = lay.channels
        zero = np.zeros((c, 2))
        bx, bz, r = lay.button
        button_size = 2 * r if lay.button_visible else 0.0
        hit_center, hit_size = self._hit_rect()
        closed = np.concatenate([
            geo.quad_corners(zero, (0.0, 0.0)),
            geo.quad_corners([(0, 0)], lay.map_size, y=_EPS),
            geo.quad_corners([(bx, bz)], (0.0, 0.0), y=_EPS),
            geo.quad_corners([hit_center], hit_size, y=-_EPS),
        ])
        opened = np.concatenate([
            geo.quad_corners(lay.centers, lay.map_size),
            geo.quad_corners([(0, 0)], (0.0, 0.0), y=_EPS),
            geo.quad_corners([(bx, bz)], (button_size, button_size), y=_EPS),
            geo.quad_corners([hit_center], hit_size, y=-_EPS),
        ])
        return (opened, closed) if self.base_open else (closed, opened)

    def _uvs(self):
        at = self.atlas_layout
        rects = np.concatenate([at.map_rects, [at.aggregate_rect, at.button_rect, at.clear_rect]])
        return geo.quad_uvs(rects)

    def _atlas(self):
        layer = self.layer
        maps, agg = textures.layer_pictures(
            layer.neural_value, self.shape, layer.color,
            aggregation=self.options["aggregation"], normalize_per=self.options["normalize"],
            rgb_image=layer.layer_type == "RGBInput", colormap=self.options["colormap"],
        )
        button = textures.button_picture(textures.hex_to_rgb(layer.color))
        return textures.paint_atlas(self.atlas_layout, maps, agg, button)

    def _label(self, unit):
        layer = self.layer
        text = label_text(layer)
        height = self.options["label_height"]
        width = label_width(text, height)
        sprite = p3.Sprite(
            material=p3.SpriteMaterial(
                map=p3.TextTexture(string=text, size=64, color=layer.color, squareTexture=True),
                depthTest=False, transparent=True,
            ),
            scale=(width, width, 1.0),
            renderOrder=1,
        )
        w = self.layout.map_size[0]
        sprite.position = tuple(self.position + (w / 2 + 0.04 * geo.MODEL_WIDTH + width / 2, 0, 0))
        self.label_right = sprite.position[0] + width / 2 - self.position[0]
        return sprite

    @property
    def objects(self):
        return [self.mesh, self.label]

    def close(self):
        """Close this layer's widget models (the browser forgets them too)."""
        mesh, label = self.mesh, self.label
        for widget in (self.action, self.action.mixer, label.material.map, label.material, label,
                       self.texture, mesh.material, self.attr_position, self.attr_uv,
                       self.attr_morph, mesh.geometry, mesh):
            widget.close()

    # ------------------------------------------------------------------ updates
    def refresh_texture(self):
        self.texture.data = self._atlas()
        if len(self.layer.output_shape) == 1:
            self.label.material.map.string = label_text(self.layer)

    def refresh_label(self):
        self.label.material.map.color = self.layer.color

    def refresh_geometry(self, unit):
        """Re-lay the quads after a close-button change (same number of quads)."""
        self.layout = self._layout(unit)
        base, morph = self._positions()
        self.attr_position.array = base
        self.attr_morph.array = morph

    def influence(self, now=None):
        """Where Python believes the morph is now (0 = base layout, 1 = the other)."""
        start, value, direction, seconds = self._anim
        now = time.monotonic() if now is None else now
        return float(np.clip(value + direction * (now - start) / seconds, 0.0, 1.0))

    def animate_to(self, status):
        """Start the browser-side morph toward ``status``; three messages whatever the size."""
        target = 0.0 if (status == "open") == self.base_open else 1.0
        now = time.monotonic()
        current = self.influence(now)
        if current == target:
            return
        direction = 1 if target > current else -1
        seconds = self.layer.anime_time / 1000.0
        action = self.action
        with action.hold_sync():  # one state message
            action.timeScale = direction * CLIP_SECONDS / seconds
            if current in (0.0, 1.0):
                # At rest: say exactly where to start, since the browser may hold the other end.
                # The browser echoes `time` back, so the trait may already equal the value we
                # need and would then not be sent: pass through another value to force it.
                action.time = -1.0
                action.time = current * CLIP_SECONDS
            # Mid-way, the browser just reverses from wherever it is: no jump.
        action.pause()  # drops the previous frame hook, so hooks never pile up
        action.play()
        self._anim = (now, current, direction, seconds)

    def locate(self, world_point):
        """What a clicked world point falls on in this layer (see ``LayerLayout.locate``)."""
        x, _, z = np.asarray(world_point, float) - self.position
        return self.layout.locate(self.layer.status, x, z)


class Scene:
    """Every layer of a model as a mesh, with camera, orbit controls and click pickers."""

    def __init__(self, model, *, width, height, background, aggregation, normalize, hide=(),
                 colormap="layer", projector=False):
        self.model = model
        self.hide = set(hide)
        self.options = {"aggregation": aggregation, "normalize": normalize, "colormap": colormap,
                        "projector": projector}
        self.clip = _shared_clip()
        self.action_layout = widgets.Layout()
        self.group = p3.Group()
        self.camera = p3.PerspectiveCamera(fov=45, aspect=width / height, near=0.5, far=50000)
        self.orbit = p3.OrbitControls(controlling=self.camera)
        # A click is a mousedown and a click at the same spot: the "click" of a drag lands elsewhere.
        self.press = p3.Picker(controlling=self.group, event="mousedown", all=True)
        self.click = p3.Picker(controlling=self.group, event="click", all=True)
        self.scene = p3.Scene(children=[self.group, self.camera], background=background)
        self.renderer = p3.Renderer(
            camera=self.camera, scene=self.scene, controls=[self.orbit, self.press, self.click],
            width=width, height=height, antialias=True,
        )
        self.layers = {}
        self.build()

    def build(self):
        """(Re)create every layer mesh from the model's current shapes and values."""
        old = list(self.layers.values())
        everything = self.model.layers
        layers = [layer for layer in everything
                  if layer.name not in self.hide and layer.layer_type not in self.hide]
        self.unit = geo.model_unit([layer.output_shape for layer in self.model.inputs])
        shapes = [geo.display_shape(layer.output_shape) for layer in layers]
        level = geo.levels(everything, layers)
        depths = [s[0] * self.unit for s in shapes]
        # Labels readable from the default camera, yet never taller than the gaps between layers.
        gaps = geo.level_pitches(depths, level) if max(level) else [80.0]
        height = float(np.clip(0.4 * min(gaps), 6.0, 0.11 * geo.MODEL_WIDTH))
        if self.options["projector"]:  # for the back row of a lecture hall
            height *= 1.8
        self.options["label_height"] = height
        # Side-by-side layers (branches) keep room for their labels, which sit on their right;
        # a layer alone on its level stays centred, so a plain stack lines up.
        crowded = [level.count(lev) > 1 for lev in level]
        widths = [s[1] * self.unit + (0.04 * geo.MODEL_WIDTH + label_width(label_text(layer), height)
                                      if busy else 0.0)
                  for s, layer, busy in zip(shapes, layers, crowded)]
        positions = geo.layer_positions(widths, level, depths)
        positions[:, 0] -= [w / 2 - s[1] * self.unit / 2 for w, s in zip(widths, shapes)]
        self.layers = {
            layer.name: LayerMesh(layer, self.unit, pos, self.clip, self.options, self.action_layout)
            for layer, pos in zip(layers, positions)
        }
        self.group.children = tuple(obj for lm in self.layers.values() for obj in lm.objects)
        for lm in old:
            lm.close()
        self.reset_camera()

    def close(self):
        for lm in self.layers.values():
            lm.close()
        for widget in (self.renderer, self.press, self.click, self.orbit, self.scene, self.camera,
                       self.group, *self.clip.tracks, self.clip, self.action_layout):
            widget.close()

    def reset_camera(self):
        """Frame the model as if every layer were open (within limits, see ``layout.framing``)."""
        boxes = []
        for extent in ("closed_extent", "open_extent"):
            lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
            for lm in self.layers.values():
                xmin, xmax, zmin, zmax = getattr(lm.layout, extent)
                xmax = max(xmax, lm.label_right)  # keep the labels in view too
                lo = np.minimum(lo, lm.position + (xmin, 0, zmin))
                hi = np.maximum(hi, lm.position + (xmax, 0, zmax))
            boxes += [lo, hi]
        position, target = geo.default_camera(*geo.framing(*boxes), self.camera.aspect)
        # Move the model so that what the camera looks at is the origin: OrbitControls then
        # orbits the right point even where its `target` state arrives late (seen under Voila).
        self.origin = np.asarray(target, float)
        self.group.position = tuple(-self.origin)
        self.camera.position = tuple(np.asarray(position) - self.origin)
        self.camera.lookAt((0.0, 0.0, 0.0))
        self.orbit.target = (0.0, 0.0, 0.0)

    def screen_point(self, layer_name, x, z):
        """Canvas pixel ``(px, py)`` of the point ``(x, z)`` of a layer's plane (default camera)."""
        lm = self.layers[layer_name]
        world = lm.position + (x, 0.0, z) - self.origin
        ndc = geo.project(world, self.camera.position, self.orbit.target, self.camera.fov,
                          self.camera.aspect)[0]
        w, h = self.renderer.width, self.renderer.height
        return float((ndc[0] + 1) / 2 * w), float((1 - ndc[1]) / 2 * h)

    def highlight(self, layer_name, channel, rows, cols):
        """Outline input rows x cols of one map of a layer (its aggregate when closed); one
        scene-wide line object, created on first use."""
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
        segments = np.array([(*lm.position - self.origin + (x, y, z),) for a, b in zip(corners, corners[1:] + corners[:1])
                             for x, z in (a, b)], np.float32)
        if getattr(self, "_outline", None) is None:
            self._outline_attr = p3.BufferAttribute(array=segments)
            self._outline = p3.LineSegments(
                p3.BufferGeometry(attributes={"position": self._outline_attr}),
                p3.LineBasicMaterial(color="#FFFFFF", depthTest=False), renderOrder=2,
                frustumCulled=False)
            self.scene.children = (*self.scene.children, self._outline)
        else:
            self._outline_attr.array = segments

    def pick(self, picked):
        """The first layer content along a click ray: ``(LayerMesh, what)`` or ``(None, None)``."""
        by_id = {lm.mesh.model_id: lm for lm in self.layers.values()}
        for hit in picked:
            ref = hit.get("object")
            model_id = ref.model_id if hasattr(ref, "model_id") else str(ref).replace("IPY_MODEL_", "")
            lm = by_id.get(model_id)
            if lm is not None:
                what = lm.locate(np.asarray(hit["point"], float) + self.origin)  # to model space
                if what is not None:
                    return lm, what
        return None, None
