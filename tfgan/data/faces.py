"""Procedural cartoon faces: an offline stand-in for an anime-face dataset.

Each face is drawn with PIL at several times the output size and shrunk with a
box filter, which antialiases the edges. Everything random comes from the
generator passed in, so a seed always gives the same pictures.

The painter knows what it drew: `make_labelled_faces` also returns each face's
hair colour (10 kinds), hair style (8) and eye colour (7), the labels that the
face-attribute classifier behind `tfgan.evaluation.face_metrics` learns.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw
from tqdm.auto import tqdm

Color = tuple[int, int, int]

# (hue, saturation, value) centres for hair; the draw jitters around them.
HAIR_COLORS = ("black-brown", "brown", "blonde", "red", "pink", "blue", "purple", "silver", "teal", "green")
EYE_COLORS = ("blue", "green", "brown", "red", "violet", "amber", "cyan")
_HAIR_HSV = [
    (0.07, 0.55, 0.18),  # black-brown
    (0.07, 0.65, 0.40),  # brown
    (0.11, 0.55, 0.85),  # blonde
    (0.02, 0.75, 0.75),  # red
    (0.93, 0.45, 0.95),  # pink
    (0.60, 0.60, 0.80),  # blue
    (0.75, 0.45, 0.75),  # purple
    (0.00, 0.00, 0.85),  # silver
    (0.45, 0.50, 0.65),  # teal
    (0.30, 0.45, 0.65),  # green
]
_EYE_HSV = [
    (0.60, 0.75, 0.80),  # blue
    (0.33, 0.70, 0.65),  # green
    (0.08, 0.80, 0.55),  # brown
    (0.98, 0.75, 0.80),  # red
    (0.78, 0.60, 0.75),  # violet
    (0.12, 0.80, 0.90),  # amber
    (0.50, 0.70, 0.75),  # cyan
]
HAIR_STYLES = (
    "bangs",
    "long",
    "short",
    "twintails",
    "ponytail",
    "spiky",
    "bob",
    "side_part",
)


ATTRIBUTES = {"hair_color": HAIR_COLORS, "hair_style": HAIR_STYLES, "eye_color": EYE_COLORS}


def draw_labelled_face(rng: np.random.Generator, size: int = 64) -> tuple[Image.Image, dict[str, int]]:
    """One random cartoon portrait (``size`` x ``size`` RGB) and the index of each of its attributes.

    ``eye_color`` is -1 for a face drawn with its eyes closed: there is no iris to see.
    """
    ss = max(2, min(4, 256 // size))  # supersampling factor: 4x at 64 px
    painter = _Painter(rng, size * ss)
    painter.paint()
    attributes = {"hair_color": painter.hair_index, "hair_style": HAIR_STYLES.index(painter.style),
                  "eye_color": painter.eye_index}
    return painter.im.reduce(ss), attributes


def draw_face(rng: np.random.Generator, size: int = 64) -> Image.Image:
    """Draw one random cartoon portrait as a ``size`` x ``size`` RGB image."""
    return draw_labelled_face(rng, size)[0]


def make_labelled_faces(n: int, image_size: int = 64, seed: int = 0,
                        progress: bool = False) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``n`` faces as a ``(n, image_size, image_size, 3)`` uint8 array, and their attributes.

    The attributes are ``{"hair_color": (n,), "hair_style": (n,), "eye_color": (n,)}`` int arrays,
    indices into ``HAIR_COLORS``, ``HAIR_STYLES`` and ``EYE_COLORS``. Face ``i`` has its own generator
    spawned from ``seed``, so the first faces are the same whatever ``n`` is.
    """
    out = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    labels = {name: np.empty(n, dtype=np.int64) for name in ATTRIBUTES}
    children = np.random.SeedSequence(seed).spawn(n)
    for i in tqdm(range(n), desc="drawing faces", unit="face", disable=not progress):
        image, attributes = draw_labelled_face(np.random.default_rng(children[i]), image_size)
        out[i] = np.asarray(image)
        for name, value in attributes.items():
            labels[name][i] = value
    return out, labels


def make_faces(n: int, image_size: int = 64, seed: int = 0, progress: bool = False) -> np.ndarray:
    """Draw ``n`` faces as a ``(n, image_size, image_size, 3)`` uint8 array (see `make_labelled_faces`)."""
    return make_labelled_faces(n, image_size, seed, progress)[0]


def _hsv(h: float, s: float, v: float) -> Color:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def _shade(c: Color, f: float) -> Color:
    """Darken (f < 1) or lighten towards white (f > 1)."""
    if f <= 1:
        return tuple(round(x * f) for x in c)  # type: ignore[return-value]
    t = min(f - 1, 1.0)
    return tuple(round(x + (255 - x) * t) for x in c)  # type: ignore[return-value]


class _Painter:
    """Draws one face; coordinates are fractions of the canvas side."""

    def __init__(self, rng: np.random.Generator, canvas: int) -> None:
        self.rng = rng
        self.w = canvas
        self.im = Image.new("RGB", (canvas, canvas))
        # RGBA mode makes fills with an alpha blend (used for blush, shine).
        self.d = ImageDraw.Draw(self.im, "RGBA")
        u = rng.uniform
        # Head placement and shape.
        self.cx = 0.5 + u(-0.04, 0.04)
        self.cy = 0.47 + u(-0.03, 0.04)
        self.r = u(0.27, 0.32)  # half-width of the head
        self.chin = self.r * u(1.12, 1.3)  # centre-to-chin distance
        # Palette.
        self.skin = _hsv(u(0.04, 0.09), u(0.12, 0.38), u(0.78, 1.0))
        self.hair_index = int(rng.integers(len(_HAIR_HSV)))
        h, s, v = _HAIR_HSV[self.hair_index]
        self.hair = _hsv(h + u(-0.03, 0.03), s * u(0.8, 1.15), v * u(0.85, 1.1))
        self.hair_dark = _shade(self.hair, 0.6)
        self.style = HAIR_STYLES[rng.integers(len(HAIR_STYLES))]
        self.eye_index = -1  # set when the eyes are drawn

    # -- helpers -----------------------------------------------------------

    def px(self, x: float, y: float) -> tuple[float, float]:
        return (x * self.w, y * self.w)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [x0 * self.w, y0 * self.w, x1 * self.w, y1 * self.w]

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill, **kw) -> None:
        self.d.ellipse(self.box(cx - rx, cy - ry, cx + rx, cy + ry), fill=fill, **kw)

    def polygon(self, pts, fill, outline=None, width: float = 0) -> None:
        self.d.polygon(
            [self.px(x, y) for x, y in pts],
            fill=fill,
            outline=outline,
            width=max(1, round(width * self.w)) if outline else 0,
        )

    def line(self, pts, fill, width: float) -> None:
        self.d.line(
            [self.px(x, y) for x, y in pts],
            fill=fill,
            width=max(1, round(width * self.w)),
            joint="curve",
        )

    # -- the picture ---------------------------------------------------------

    def paint(self) -> None:
        self.background()
        self.back_hair()
        self.body()
        self.face()
        self.eyes()
        self.mouth()
        self.front_hair()
        self.brows()
        if self.rng.random() < 0.3:
            self.hair_clip()

    def background(self) -> None:
        u = self.rng.uniform
        h = u(0, 1)
        top = _hsv(h, u(0.1, 0.45), u(0.75, 1.0))
        bottom = _hsv(h + u(-0.15, 0.15), u(0.1, 0.5), u(0.55, 0.95))
        # A vertical gradient, built in C by blending two flat colours.
        mask = Image.linear_gradient("L").resize(self.im.size)
        self.im.paste(
            Image.composite(
                Image.new("RGB", self.im.size, bottom),
                Image.new("RGB", self.im.size, top),
                mask,
            )
        )

    def head_outline(self, n: int = 28) -> list[tuple[float, float]]:
        """Round skull on top, cheeks narrowing to a soft pointed chin."""
        pts = []
        for k in range(n + 1):  # upper half, left to right over the top
            a = math.pi + math.pi * k / n
            pts.append((self.cx + self.r * math.cos(a), self.cy + self.r * 1.05 * math.sin(a)))
        for k in range(1, n):  # lower half, right to left under the chin
            a = math.pi * k / n
            c = math.cos(a)
            x = self.cx + self.r * math.copysign(abs(c) ** 0.75, c) * (1 - 0.15 * math.sin(a) ** 2)
            pts.append((x, self.cy + self.chin * math.sin(a) ** 1.3))
        return pts

    def back_hair(self) -> None:
        cx, cy, r = self.cx, self.cy, self.r
        hair, u = self.hair, self.rng.uniform
        style = self.style
        if style in ("long", "bangs", "side_part"):
            # Long hair runs off the bottom; bangs and a side part end above the shoulders.
            bottom = 1.05 if style == "long" else cy + self.chin * u(0.9, 1.3)
            pts = [(cx - r * 1.2, bottom)]
            for k in range(21):
                a = math.pi + math.pi * k / 20
                pts.append((cx + r * 1.18 * math.cos(a), cy - 0.05 + r * 1.12 * math.sin(a)))
            pts.append((cx + r * 1.2, bottom))
            self.polygon(pts, hair)
        elif style == "bob":
            self.ellipse(cx, cy + 0.02, r * 1.22, r * 1.3, hair)
        elif style == "twintails":
            tie = _hsv(u(0, 1), 0.7, 0.9)
            length = r * u(1.1, 1.5)
            for side in (-1, 1):
                # Tails hang from ties on the upper sides of the head.
                self.ellipse(cx + side * r * 1.25, cy - r * 0.35 + length, r * 0.3, length, hair)
                self.ellipse(cx + side * r * 1.02, cy - r * 0.5, r * 0.14, r * 0.14, tie)
        elif style == "ponytail":
            side = 1 if self.rng.random() < 0.5 else -1
            self.ellipse(cx + side * r * 1.15, cy + r * 0.3, r * 0.35, r * 1.1, hair)

    def body(self) -> None:
        cx, cy, r = self.cx, self.cy, self.r
        u = self.rng.uniform
        neck_shadow = _shade(self.skin, 0.85)
        self.polygon(
            [
                (cx - r * 0.28, cy + self.chin * 0.6),
                (cx + r * 0.28, cy + self.chin * 0.6),
                (cx + r * 0.3, 1.0),
                (cx - r * 0.3, 1.0),
            ],
            neck_shadow,
        )
        cloth = _hsv(u(0, 1), u(0.2, 0.8), u(0.3, 0.95))
        top = cy + self.chin + r * u(0.25, 0.45)
        self.ellipse(cx, top + r * 1.2, r * u(1.3, 1.6), r * 1.2, cloth)
        # A collar "V" so the shirt reads as clothing, not a blob.
        self.polygon(
            [
                (cx - r * 0.32, top - r * 0.02),
                (cx + r * 0.32, top - r * 0.02),
                (cx, top + r * 0.45),
            ],
            neck_shadow,
        )

    def face(self) -> None:
        cx, cy, r = self.cx, self.cy, self.r
        outline = _shade(self.skin, 0.6)
        for side in (-1, 1):  # ears, mostly hidden by hair
            self.ellipse(
                cx + side * r * 0.98,
                cy + r * 0.2,
                r * 0.14,
                r * 0.22,
                self.skin,
                outline=outline,
            )
        self.polygon(self.head_outline(), self.skin, outline=outline, width=0.006)
        if self.rng.random() < 0.6:  # blush
            for side in (-1, 1):
                self.ellipse(
                    cx + side * r * 0.52,
                    cy + r * 0.55,
                    r * 0.2,
                    r * 0.09,
                    (255, 90, 110, 90),
                )
        # Nose: a tiny shadow stroke.
        nose_y = cy + r * 0.55
        self.line(
            [(cx + r * 0.02, nose_y - r * 0.06), (cx - r * 0.01, nose_y)],
            _shade(self.skin, 0.7),
            0.006,
        )

    def eyes(self) -> None:
        cx, cy, r = self.cx, self.cy, self.r
        u = self.rng.uniform
        eye_index = int(self.rng.integers(len(_EYE_HSV)))
        h, s, v = _EYE_HSV[eye_index]
        iris = _hsv(h + u(-0.03, 0.03), s, v * u(0.85, 1.1))
        ew = r * u(0.22, 0.3)  # half-width
        eh = ew * u(1.05, 1.45)  # half-height: tall anime eyes
        ey = cy + r * u(0.12, 0.25)
        spread = r * u(0.42, 0.5)
        lash = (40, 25, 30)
        closed = self.rng.random() < 0.08  # a happy ^ ^ face now and then
        self.eye_index = -1 if closed else eye_index
        for side in (-1, 1):
            ex = cx + side * spread
            if closed:
                self.line(
                    [
                        (ex - ew, ey + eh * 0.2),
                        (ex, ey - eh * 0.3),
                        (ex + ew, ey + eh * 0.2),
                    ],
                    lash,
                    0.012,
                )
                continue
            self.ellipse(ex, ey, ew, eh, (255, 255, 255))
            self.ellipse(ex, ey + eh * 0.08, ew * 0.78, eh * 0.9, iris)
            self.ellipse(ex, ey - eh * 0.12, ew * 0.78, eh * 0.5, _shade(iris, 0.55) + (140,))  # lid shadow
            self.ellipse(ex, ey + eh * 0.12, ew * 0.38, eh * 0.42, _shade(iris, 0.3))
            # Highlights: the big one sits towards the light (upper left).
            self.ellipse(ex - ew * 0.3, ey - eh * 0.3, ew * 0.24, ew * 0.24, (255, 255, 255))
            self.ellipse(ex + ew * 0.3, ey + eh * 0.4, ew * 0.11, ew * 0.11, (255, 255, 255, 220))
            # Thick upper lash, flicking out at the outer corner.
            top = [
                (ex - ew * 1.1, ey - eh * 0.55),
                (ex - ew * 0.5, ey - eh * 1.05),
                (ex + ew * 0.5, ey - eh * 1.05),
                (ex + ew * 1.1, ey - eh * 0.55),
            ]
            if side == 1:
                top[-1] = (ex + ew * 1.35, ey - eh * 0.75)
            else:
                top[0] = (ex - ew * 1.35, ey - eh * 0.75)
            self.line(top, lash, eh * 0.11)

    def brows(self) -> None:
        cx, cy, r = self.cx, self.cy, self.r
        u = self.rng.uniform
        y = cy - r * u(0.2, 0.32)
        tilt = r * u(-0.08, 0.08)  # >0 worried, <0 determined
        for side in (-1, 1):
            x0, x1 = cx + side * r * 0.25, cx + side * r * 0.65
            self.line(
                [(x0, y - tilt), ((x0 + x1) / 2, y - r * 0.05), (x1, y + tilt * 0.5)],
                self.hair_dark,
                0.007,
            )

    def mouth(self) -> None:
        cx, cy, r = self.cx, self.cy, self.r
        u = self.rng.uniform
        my = cy + r * u(0.8, 0.9)
        mw = r * u(0.1, 0.2)
        dark = (120, 40, 50)
        kind = self.rng.choice(["smile", "open", "flat", "cat"], p=[0.4, 0.3, 0.15, 0.15])
        if kind == "smile":
            self.line(
                [
                    (cx - mw, my - r * 0.03),
                    (cx, my + r * 0.03),
                    (cx + mw, my - r * 0.03),
                ],
                dark,
                0.007,
            )
        elif kind == "open":
            pts = [
                (cx - mw, my - r * 0.03),
                (cx + mw, my - r * 0.03),
                (cx + mw * 0.5, my + r * 0.1),
                (cx - mw * 0.5, my + r * 0.1),
            ]
            self.polygon(pts, (150, 40, 55), outline=dark, width=0.004)
            self.ellipse(cx, my + r * 0.07, mw * 0.45, r * 0.03, (240, 120, 130))  # tongue
        elif kind == "flat":
            self.line([(cx - mw * 0.7, my), (cx + mw * 0.7, my)], dark, 0.006)
        else:
            w = mw * 0.6
            self.line(
                [
                    (cx - w * 2, my - r * 0.02),
                    (cx - w, my + r * 0.03),
                    (cx, my - r * 0.01),
                    (cx + w, my + r * 0.03),
                    (cx + w * 2, my - r * 0.02),
                ],
                dark,
                0.006,
            )

    def front_hair(self) -> None:
        """Hair over the forehead: a cap with a fringe and side locks."""
        cx, cy, r = self.cx, self.cy, self.r
        u = self.rng.uniform
        style = self.style
        spiky = style == "spiky"
        # Outer edge over the top of the head (spiky hair gets jagged tips).
        outer = []
        n = 14 if spiky else 24
        side_len = {"short": 0.2, "spiky": 0.15}.get(style, u(0.45, 0.9))
        outer.append((cx - r * 1.1, cy + r * side_len))
        for k in range(n + 1):
            a = math.pi + math.pi * k / n
            rr = r * (1.1 + (0.25 if spiky and k % 2 else 0.0))
            outer.append((cx + rr * math.cos(a), cy - 0.03 + rr * 1.05 * math.sin(a)))
        outer.append((cx + r * 1.1, cy + r * side_len))
        # Inner edge: right side lock up, fringe right to left, left lock down.
        # Side locks taper to a point below their outer edge.
        inner = [
            (cx + r * 1.06, cy + r * (side_len + 0.12)),
            (cx + r * 0.82, cy - r * 0.15),
        ]
        base = cy - r * u(0.4, 0.55)
        tip = cy - r * u(0.0, 0.2)
        if style == "side_part":
            # One long sweep from the right, short strands on the left.
            inner += [
                (cx + r * 0.5, base),
                (cx + r * 0.1, tip),
                (cx - r * 0.1, base - r * 0.1),
                (cx - r * 0.45, tip + r * 0.05),
                (cx - r * 0.6, base),
            ]
        else:
            strands = int(self.rng.integers(4, 8))
            for k in range(strands):
                x0 = cx + r * 0.82 - 1.64 * r * k / strands
                x1 = cx + r * 0.82 - 1.64 * r * (k + 1) / strands
                jitter = r * u(-0.08, 0.08)
                inner += [
                    (x0, base),
                    ((x0 + x1) / 2 + r * u(-0.05, 0.05), tip + jitter),
                ]
            inner.append((cx - r * 0.82, base))
        inner += [
            (cx - r * 0.82, cy - r * 0.15),
            (cx - r * 1.06, cy + r * (side_len + 0.12)),
        ]
        self.polygon(outer + inner, self.hair, outline=self.hair_dark, width=0.006)
        # Shine: the glossy band anime hair is drawn with.
        shine = _shade(self.hair, 1.35) + (170,)
        ry = cy - 0.03 - r * 0.72
        self.d.arc(
            self.box(cx - r * 0.75, ry - r * 0.2, cx + r * 0.75, ry + r * 0.4),
            200,
            340,
            fill=shine,
            width=max(1, round(r * 0.08 * self.w)),
        )

    def hair_clip(self) -> None:
        cx, cy, r = self.cx, self.cy, self.r
        side = 1 if self.rng.random() < 0.5 else -1
        color = _hsv(self.rng.uniform(0, 1), 0.7, 0.95)
        x, y = cx + side * r * 0.6, cy - r * 0.6
        self.polygon([(x - r * 0.15, y - r * 0.1), (x, y), (x - r * 0.15, y + r * 0.1)], color)
        self.polygon([(x + r * 0.15, y - r * 0.1), (x, y), (x + r * 0.15, y + r * 0.1)], color)
