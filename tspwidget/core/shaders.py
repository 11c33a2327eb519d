"""GLSL of the layer material (three.js r97 ShaderMaterial, WebGL1), as plain strings.

Each layer mesh samples a ONE-BYTE code atlas (``core.textures``: codes, atlas layout, palette) and
looks each code up in the layer's 256-entry palette, stored as three planes (R, G, B) of 256 bytes
in the same atlas after the cells: one texture, one byte per texel. The same shader draws:

- **maps and the closed aggregate** (UVs inside [0, 1]): the palette colour of the code, with a
  bevel computed from the position inside the map's cell (maps of a layer share one size): a
  thin dark outline (at least about 1 px on screen), a lit back-left edge, a shaded front-right
  edge and a soft light-to-dark gradient across the map, so every map reads as a raised tile.
  ``CODE_CLEAR`` texels are discarded (a vector strip's padding cells);
- **the close button** (quad UVs u in [2, 3], v in [0, 1]): drawn analytically (round and sharp
  at any ``close_button["ratio"]``), with the palette's button fill / ring / X colours; outside
  the disc is discarded;
- **the slab's side faces** of a closed layer (quad UVs u = -1 - face, v = 0 at the top edge, 1
  at the bottom): the palette's ``CODE_SIDE`` colour, darker downward and per face.

Uniforms (names are part of the interface: the browser controller sets ``hover`` directly):

``atlas`` (sampler2D)
    the code atlas, LuminanceFormat, UnsignedByteType, NearestFilter, unpackAlignment 1. It must
    be the ONLY texture uniform and the LAST key of the uniforms dict: pythreejs 2.4.2's
    ``deserializeUniforms`` resolves texture references in a ``for (var a in ...)`` loop with an
    async callback, so every texture lands on the last key (a second texture uniform would
    overwrite it, and a texture not last would overwrite a vector uniform: the render throws).
``paletteAt`` (vec3)
    ``(atlas cols, atlas rows, first palette row)``: the colour of code c, plane p (0 R, 1 G,
    2 B) is byte ``p * 256 + c`` of the rows from ``paletteAt.z`` on, read row-major.
``cellSize`` (vec2)
    one cell's (u, v) size in the atlas (``AtlasLayout.cell_uv``).
``aspect`` (vec2)
    ``(w, h) / min(w, h)`` of a cell, so bevel widths are the same along both sides.
``gridCols`` (float)
    cells per atlas row (``AtlasLayout.grid_cols``): cell k is at column ``k % gridCols``, row
    ``k // gridCols``.
``rgbImage`` (float)
    1.0 for an RGB input layer: maps 0, 1, 2 are tinted red, green, blue, and the closed aggregate
    is the colour picture itself, from three planes of codes (cells 3, 4, 5); else 0.0.
``hover`` (vec4)
    an atlas UV rectangle ``(u0, v0, u1, v1)`` (as in ``AtlasLayout.map_rects[k]`` or
    ``.aggregate_rect``; ``LayerMesh.hover_rect(channel)`` gives it, channel None = aggregate):
    texels inside it are brightened by +30/255 per channel (TensorSpace's hover). Off when
    ``u0 > u1``; the default is ``HOVER_OFF = (-1, -1, -2, -2)``. In the browser (three r97):
    ``material.uniforms.hover.value.set(u0, v0, u1, v1)`` (a ``THREE.Vector4``); no
    ``needsUpdate`` is needed, the value is read every frame.

``morphTargets`` stays on: the vertex shader uses r97's morph chunks (absolute morph positions).
"""

from __future__ import annotations

from . import textures as tx

HOVER_OFF = (-1.0, -1.0, -2.0, -2.0)
HOVER_BRIGHTEN = 30.0 / 255.0
BEVEL = 0.07  # width of the lit / shaded bevel, in short sides of a map
OUTLINE = 0.018  # the dark outline, in short sides of a map (and at least ~1 px on screen)

VERTEX_SHADER = """
varying vec2 vUv;
#include <morphtarget_pars_vertex>
void main() {
    vUv = uv;
    #include <begin_vertex>
    #include <morphtarget_vertex>
    #include <project_vertex>
}
"""

FRAGMENT_SHADER = f"""
uniform sampler2D atlas;
uniform vec3 paletteAt;
uniform vec2 cellSize;
uniform vec2 aspect;
uniform float gridCols;
uniform float rgbImage;
uniform vec4 hover;
varying vec2 vUv;

float codeAt(vec2 uv) {{ return floor(texture2D(atlas, uv).r * 255.0 + 0.5); }}
float paletteByte(float index) {{
    float row = floor((index + 0.5) / paletteAt.x);
    vec2 texel = vec2(index - row * paletteAt.x, paletteAt.z + row) + 0.5;
    return texture2D(atlas, texel / paletteAt.xy).r;
}}
vec3 paletteRgb(float code) {{
    return vec3(paletteByte(code), paletteByte(256.0 + code), paletteByte(512.0 + code));
}}
float valueOf(float code) {{ return (code - {tx.CODE_LOW:.1f}) / {tx.LEVELS - 1:.1f}; }}
float pixelWidth(float d) {{
#ifdef GL_OES_standard_derivatives
    return fwidth(d);
#else
    return 0.0;
#endif
}}
vec2 cellOrigin(float k) {{
    float row = floor((k + 0.5) / gridCols);
    return vec2(k - row * gridCols, row) * cellSize;
}}

void main() {{
    if (vUv.x > 1.5) {{  // the close button, drawn analytically in its square
        vec2 p = vUv - vec2(2.5, 0.5);
        float r = length(p);
        if (r > 0.5) discard;
        float aa = max(pixelWidth(r), 0.004);
        float ring = smoothstep(sqrt({tx.BUTTON_RING2}) - aa, sqrt({tx.BUTTON_RING2}) + aa, r);
        vec2 a = abs(p);
        float stroke = max((abs(a.x - a.y) - {tx.BUTTON_X_HALF_WIDTH}) * 0.7071,
                           max(a.x, a.y) - {tx.BUTTON_X_REACH});
        float xmark = 1.0 - smoothstep(-aa, aa, stroke);
        vec3 fill = paletteRgb({tx.CODE_BUTTON_FILL:.1f}) * (1.0 - 0.25 * (p.x + p.y));
        vec3 rgb = mix(fill, paletteRgb({tx.CODE_BUTTON_RING:.1f}), ring);
        rgb = mix(rgb, paletteRgb({tx.CODE_BUTTON_X:.1f}), xmark);
        gl_FragColor = vec4(rgb, 1.0);
        return;
    }}
    if (vUv.x < -0.5) {{  // a side face of a closed layer's slab
        float face = floor(-vUv.x + 0.5) - 1.0;  // 0 front (+z), 1 right, 2 back, 3 left
        float lit = face < 0.5 ? 1.0 : (face < 1.5 ? 0.8 : (face < 2.5 ? 0.6 : 0.7));
        gl_FragColor = vec4(paletteRgb({tx.CODE_SIDE:.1f}) * lit * (1.0 - 0.4 * vUv.y), 1.0);
        return;
    }}
    float code = codeAt(vUv);
    if (code < 0.5) discard;
    vec2 cellPos = floor(vUv / cellSize);
    vec2 p = vUv / cellSize - cellPos;  // position inside the map: (0, 0) back-left
    float k = cellPos.y * gridCols + cellPos.x;
    vec3 rgb;
    if (code < 1.5) {{
        rgb = paletteRgb(code);
    }} else if (rgbImage > 0.5 && k > 2.5) {{  // an RGB input's colour picture: three planes
        vec2 inner = vUv - cellOrigin(3.0);
        float r = codeAt(cellOrigin(3.0) + inner);
        float g = codeAt(cellOrigin(4.0) + inner);
        float b = codeAt(cellOrigin(5.0) + inner);
        rgb = min(min(r, g), b) < 1.5 ? paletteRgb({tx.CODE_NAN:.1f})
                                      : vec3(valueOf(r), valueOf(g), valueOf(b));
    }} else if (rgbImage > 0.5) {{  // an RGB input's channel maps, tinted red, green, blue
        rgb = paletteRgb(code) * vec3(k < 0.5 ? 1.0 : 0.0, abs(k - 1.0) < 0.5 ? 1.0 : 0.0,
                                      abs(k - 2.0) < 0.5 ? 1.0 : 0.0);
    }} else {{
        rgb = paletteRgb(code);
    }}
    // Bevel: distances to the edges in short sides of the map.
    vec2 d0 = p * aspect;
    vec2 d1 = (1.0 - p) * aspect;
    float edge = min(min(d0.x, d0.y), min(d1.x, d1.y));
    float lit = 1.0 - smoothstep(0.0, {BEVEL}, min(d0.x, d0.y));
    float dark = 1.0 - smoothstep(0.0, {BEVEL}, min(d1.x, d1.y));
    float px = pixelWidth(edge);
    float outline = 1.0 - smoothstep(max({OUTLINE}, 1.2 * px), max({OUTLINE}, 1.2 * px) + max(px, 0.004), edge);
    float gradient = 1.07 - 0.14 * 0.5 * (p.x + p.y);
    rgb *= gradient * (1.0 + 0.22 * lit) * (1.0 - 0.3 * dark) * (1.0 - 0.55 * outline);
    if (vUv.x >= hover.x && vUv.x <= hover.z && vUv.y >= hover.y && vUv.y <= hover.w) {{
        rgb += vec3({HOVER_BRIGHTEN:.6f});
    }}
    gl_FragColor = vec4(min(rgb, vec3(1.0)), 1.0);
}}
"""
