"""Synthetic "real-world" digit images, drawn from scratch: no MNIST pixel is used.

Each digit is a few hand-written-style strokes (templates below), jittered, slanted and
rotated like handwriting, drawn with a pen, a marker, a mouse or chalk, and then rendered as a
photo of paper (perspective, shadows, uneven light, blur, noise, JPEG), a scan, a canvas
drawing (transparent PNG, black or white strokes) or chalk on a board.

    python -m digitlab.synth --out data/synthetic --per-kind 200
"""

import argparse
import csv
import io
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from digitlab import config

# Strokes in a unit box (x right, y down); a digit is one or more strokes, smoothed through the
# points. Strokes that share an end point meet in a corner.
TEMPLATES: dict[int, list[list[list[tuple[float, float]]]]] = {
    0: [[[(0.5, 0.0), (0.2, 0.15), (0.1, 0.5), (0.22, 0.88), (0.5, 1.0), (0.8, 0.86),
          (0.9, 0.5), (0.8, 0.12), (0.5, 0.0), (0.42, 0.04)]]],
    1: [[[(0.55, 0.0), (0.5, 0.5), (0.45, 1.0)]],
        [[(0.36, 0.3), (0.58, 0.0)], [(0.58, 0.0), (0.52, 0.5), (0.48, 1.0)]]],
    2: [[[(0.15, 0.25), (0.35, 0.04), (0.62, 0.0), (0.82, 0.17), (0.75, 0.42), (0.45, 0.7),
          (0.12, 1.0)], [(0.12, 1.0), (0.5, 0.97), (0.9, 0.98)]],
        [[(0.15, 0.2), (0.45, 0.0), (0.8, 0.12), (0.78, 0.4), (0.4, 0.75), (0.15, 0.98)],
         [(0.15, 0.98), (0.25, 0.9), (0.55, 0.88), (0.9, 1.0)]]],
    3: [[[(0.15, 0.12), (0.45, 0.0), (0.78, 0.1), (0.78, 0.32), (0.45, 0.48)],
         [(0.45, 0.48), (0.82, 0.62), (0.82, 0.86), (0.5, 1.0), (0.12, 0.9)]]],
    4: [[[(0.6, 0.0), (0.1, 0.66)], [(0.1, 0.66), (0.9, 0.64)], [(0.68, 0.28), (0.66, 1.0)]],
        [[(0.2, 0.0), (0.15, 0.55)], [(0.15, 0.55), (0.88, 0.52)], [(0.72, 0.0), (0.7, 1.0)]]],
    5: [[[(0.82, 0.0), (0.28, 0.02)], [(0.28, 0.02), (0.22, 0.45)],
         [(0.22, 0.45), (0.5, 0.36), (0.8, 0.5), (0.82, 0.8), (0.55, 1.0), (0.15, 0.9)]]],
    6: [[[(0.72, 0.0), (0.42, 0.18), (0.22, 0.52), (0.24, 0.86), (0.5, 1.0), (0.78, 0.86),
          (0.78, 0.6), (0.5, 0.48), (0.24, 0.62)]]],
    7: [[[(0.1, 0.02), (0.88, 0.0)], [(0.88, 0.0), (0.6, 0.48), (0.42, 1.0)]],
        [[(0.1, 0.12), (0.12, 0.02), (0.88, 0.0)], [(0.88, 0.0), (0.55, 0.55), (0.45, 1.0)]]],
    8: [[[(0.72, 0.12), (0.5, 0.0), (0.26, 0.12), (0.3, 0.34), (0.5, 0.47), (0.75, 0.62),
          (0.76, 0.87), (0.5, 1.0), (0.24, 0.87), (0.25, 0.63), (0.5, 0.47), (0.7, 0.33),
          (0.72, 0.12), (0.6, 0.02)]]],
    9: [[[(0.75, 0.2), (0.5, 0.0), (0.25, 0.15), (0.27, 0.4), (0.5, 0.5), (0.74, 0.38),
          (0.75, 0.2)], [(0.75, 0.2), (0.72, 0.6), (0.65, 1.0)]],
        [[(0.78, 0.15), (0.5, 0.0), (0.22, 0.12), (0.25, 0.42), (0.55, 0.48), (0.78, 0.3)],
         [(0.78, 0.15), (0.78, 0.3), (0.7, 0.7), (0.55, 1.0)]]],
}

# Pen width as a fraction of the digit height.
PENS = {"pen": (0.025, 0.05), "marker": (0.11, 0.17), "mouse": (0.05, 0.09),
        "chalk": (0.07, 0.11), "brush": (0.08, 0.25)}
KINDS = ("scan_pen", "photo_pen", "photo_marker", "lined_paper", "shadow_and_edges",
         "canvas_black", "canvas_white", "canvas_offcentre", "chalkboard",
         "small_paint", "small_photo")


def smooth_curve(points: np.ndarray, samples: int = 12) -> np.ndarray:
    """Catmull-Rom spline through `points` ((k, 2)), `samples` points per segment."""
    if len(points) < 3:
        return np.linspace(points[0], points[-1], samples * 2)
    padded = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    curve = []
    for p0, p1, p2, p3 in zip(padded[:-3], padded[1:-2], padded[2:-1], padded[3:], strict=True):
        curve.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                            + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3))
    curve.append(points[-1:])
    return np.vstack(curve)


def digit_strokes(digit: int, rng: np.random.Generator, variants: list | None = None
                  ) -> list[np.ndarray]:
    """One handwritten-looking instance of `digit` (from `variants`, default its TEMPLATES):
    jittered, slanted, rotated, in a unit box."""
    variants = variants or TEMPLATES[digit]
    strokes = variants[rng.integers(len(variants))]
    jitter = {}  # shared end points (corners) move together
    curves = []
    for stroke in strokes:
        moved = []
        for point in stroke:
            if point not in jitter:
                jitter[point] = rng.normal(0, 0.035, 2)
            moved.append(np.array(point) + jitter[point])
        curves.append(smooth_curve(np.array(moved)))
    slant, angle = rng.uniform(-0.3, 0.15), np.radians(rng.uniform(-10, 10))
    width = rng.uniform(0.75, 1.15)
    matrix = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ \
        np.array([[width, slant], [0, 1]])
    curves = [(curve - 0.5) @ matrix.T for curve in curves]
    everything = np.vstack(curves)
    low, high = everything.min(axis=0), everything.max(axis=0)
    size = max(high - low)
    return [(curve - low) / size for curve in curves]


def draw_digit(digit: int, pen: str, height: int, rng: np.random.Generator,
               variants: list | None = None) -> Image.Image:
    """Render `digit` as an "L" ink mask (255 = ink) about `height` pixels tall, 3x supersampled."""
    strokes = digit_strokes(digit, rng, variants)
    low, high = PENS[pen]
    width = rng.uniform(low, high) * height
    supersample = 3
    margin = int(width * supersample) + 4
    extent = np.vstack(strokes).max(axis=0)
    size = (int(extent[0] * height * supersample) + 2 * margin,
            int(extent[1] * height * supersample) + 2 * margin)
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    line_width = max(1, int(width * supersample))
    for curve in strokes:
        points = curve * height * supersample + margin
        if pen == "mouse":  # a mouse samples the path coarsely and shakily
            points = points[::3] + rng.normal(0, 0.5 * supersample, points[::3].shape)
        xy = [tuple(p) for p in points]
        draw.line(xy, fill=255, width=line_width, joint="curve")
        for x, y in (xy[0], xy[-1]):
            r = line_width / 2
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    canvas = canvas.resize((size[0] // supersample, size[1] // supersample),
                           Image.Resampling.BOX)
    if pen == "chalk":  # grainy, broken strokes
        grain = rng.uniform(0, 1, (canvas.height, canvas.width)) < 0.75
        grain = Image.fromarray((grain * 255).astype(np.uint8)).filter(ImageFilter.BoxBlur(1))
        canvas = Image.fromarray((np.asarray(canvas, np.float32) * np.asarray(grain) / 255
                                  * rng.uniform(0.7, 1.0)).astype(np.uint8))
    if pen == "pen":  # ink pressure varies
        canvas = Image.fromarray((np.asarray(canvas, np.float32) * rng.uniform(0.75, 1.0))
                                 .astype(np.uint8))
    return canvas


def place(mask: Image.Image, size: tuple[int, int], rng: np.random.Generator,
          spread: float = 0.1) -> np.ndarray:
    """Paste the ink mask near the middle of a (w, h) canvas; return float (h, w) in 0..1."""
    canvas = Image.new("L", size, 0)
    free_x, free_y = max(0, size[0] - mask.width), max(0, size[1] - mask.height)
    x = int(np.clip(free_x / 2 + rng.normal(0, spread) * size[0], 0, free_x))
    y = int(np.clip(free_y / 2 + rng.normal(0, spread) * size[1], 0, free_y))
    canvas.paste(mask, (x, y))
    return np.asarray(canvas, np.float32) / 255


def lighting(height: int, width: int, rng: np.random.Generator, shadow: bool) -> np.ndarray:
    """A brightness field: a gradient across the page and, optionally, a soft-edged shadow."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    field = 1.0 - rng.uniform(0.1, 0.35) * ((np.cos(angle) * xx + np.sin(angle) * yy) % 1.0)
    if shadow:
        normal = rng.normal(size=2)
        side = (xx - rng.uniform(0.2, 0.8)) * normal[0] + (yy - rng.uniform(0.2, 0.8)) * normal[1]
        edge = 1 / (1 + np.exp(-side / rng.uniform(0.01, 0.05)))
        field = field * (1 - rng.uniform(0.25, 0.5) * edge)
    return field[..., None]


def photograph(rgb: np.ndarray, rng: np.random.Generator, blur: float = 1.0) -> Image.Image:
    """Perspective, blur, sensor noise of a phone photo; returns an RGB image."""
    height, width = rgb.shape[:2]
    image = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))
    wobble = 0.06
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], float)
    moved = corners + rng.uniform(-wobble, wobble, corners.shape) * [width, height]
    coefficients = perspective_coefficients(moved, corners)
    image = image.transform((width, height), Image.Transform.PERSPECTIVE, coefficients,
                            Image.Resampling.BILINEAR, fillcolor=(40, 35, 30))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, blur)))
    noisy = np.asarray(image, np.float32) + rng.normal(0, rng.uniform(2, 8), (height, width, 1))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def perspective_coefficients(source: np.ndarray, target: np.ndarray) -> list[float]:
    """The 8 coefficients PIL needs to map output corners `target` to input corners `source`."""
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return list(np.linalg.solve(np.array(rows), source.reshape(8)))


def paper_scene(digit: int, kind: str, rng: np.random.Generator) -> Image.Image:
    """A digit written on paper and photographed or scanned."""
    width, height = int(rng.integers(360, 640)), int(rng.integers(300, 520))
    pen = "marker" if kind == "photo_marker" else "pen"
    digit_height = int(min(width, height) * rng.uniform(0.35, 0.7))
    left = right = bottom = 0  # strips of table beside and below the sheet
    if kind == "shadow_and_edges":
        side, bottom = int(width * rng.uniform(0.0, 0.12)), int(height * rng.uniform(0.0, 0.12))
        left, right = (side, 0) if rng.random() < 0.5 else (0, side)
    # The digit is written on the sheet, never on the table.
    ink_mask = np.zeros((height, width, 1))
    ink_mask[: height - bottom, left: width - right, 0] = place(
        draw_digit(digit, pen, digit_height, rng), (width - left - right, height - bottom), rng)
    paper = np.array([1.0, 0.98, 0.93]) * rng.uniform(0.85, 1.0)
    if kind == "lined_paper":
        paper = np.array(rng.choice([[1.0, 0.97, 0.75], [0.85, 0.93, 1.0], [1.0, 0.92, 0.92],
                                     [0.97, 0.97, 0.95]]))
    page = np.ones((height, width, 3)) * paper
    if kind == "lined_paper":
        spacing = int(rng.integers(18, 32))
        offset = int(rng.integers(0, spacing))
        page[offset::spacing] = page[offset::spacing] * [0.7, 0.8, 1.0]
        margin = int(width * rng.uniform(0.05, 0.15))
        page[:, margin: margin + 2] = [0.95, 0.55, 0.55]
    ink_color = np.array(rng.choice([[0.05, 0.05, 0.08], [0.1, 0.15, 0.55], [0.15, 0.15, 0.2]]))
    page = page * (1 - ink_mask) + ink_color * ink_mask
    if kind == "shadow_and_edges":
        # The sheet does not fill the frame: a darker table shows at one or two edges.
        table = np.array(rng.choice([[0.35, 0.25, 0.18], [0.2, 0.2, 0.22], [0.55, 0.5, 0.45]]))
        page[:, :left] = table
        page[:, width - right: width] = table  # an empty slice when right == 0
        page[height - bottom: height] = table
        for _ in range(int(rng.integers(3, 12))):  # dust and specks
            y, x = int(rng.integers(0, height)), int(rng.integers(0, width))
            r = int(rng.integers(1, 3))
            page[max(0, y - r): y + r, max(0, x - r): x + r] = 0.2
    if kind == "scan_pen":
        image = Image.fromarray((np.clip(page, 0, 1) * 255).astype(np.uint8))
        image = image.rotate(rng.uniform(-3, 3), Image.Resampling.BILINEAR, fillcolor=(255,) * 3)
        noisy = np.asarray(image, np.float32) + rng.normal(0, 3, (height, width, 1))
        return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    page = page * lighting(height, width, rng, shadow=kind in ("shadow_and_edges", "photo_pen",
                                                                 "photo_marker"))
    return photograph(page, rng, blur=1.6)


def canvas_scene(digit: int, kind: str, rng: np.random.Generator) -> Image.Image:
    """A digit drawn with a mouse or finger on a 280x280 web canvas."""
    size = 280
    if kind == "canvas_offcentre":
        mask = draw_digit(digit, "mouse", int(size * rng.uniform(0.25, 0.4)), rng)
        canvas = Image.new("L", (size, size), 0)
        x = int(rng.choice([rng.integers(0, 40), size - mask.width - rng.integers(0, 40)]))
        y = int(rng.choice([rng.integers(0, 40), size - mask.height - rng.integers(0, 40)]))
        canvas.paste(mask, (max(0, x), max(0, y)))
        ink = np.asarray(canvas, np.float32) / 255
        return Image.fromarray(((1 - ink) * 255).astype(np.uint8)).convert("RGB")
    ink = place(draw_digit(digit, "mouse", int(size * rng.uniform(0.5, 0.8)), rng),
                (size, size), rng, spread=0.05)
    color = 0 if kind == "canvas_black" else 255
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = color
    rgba[..., 3] = (ink * 255).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def chalk_scene(digit: int, rng: np.random.Generator) -> Image.Image:
    """Chalk on a dark board, photographed."""
    width, height = int(rng.integers(360, 640)), int(rng.integers(300, 520))
    digit_height = int(min(width, height) * rng.uniform(0.4, 0.7))
    ink = place(draw_digit(digit, "chalk", digit_height, rng), (width, height), rng)[..., None]
    board = np.array(rng.choice([[0.12, 0.22, 0.15], [0.1, 0.1, 0.12], [0.15, 0.18, 0.25]]))
    smudge = chalk_dust(height, width, rng)
    page = board * smudge + (np.array([0.95, 0.95, 0.9]) - board) * ink
    return photograph(page * lighting(height, width, rng, shadow=False), rng)


def shrunk_digit(digit: int, pen: str, size: tuple[int, int], rng: np.random.Generator
                 ) -> np.ndarray:
    """An ink mask (h, w) in 0..1 of `digit` filling 65-95% of a small (w, h) canvas, drawn
    large and shrunk whole, so its strokes keep their share of its height."""
    mask = draw_digit(digit, pen, 120, rng)
    mask = mask.crop(mask.getbbox())
    scale = min(size[1] * rng.uniform(0.65, 0.95) / mask.height, 0.95 * size[0] / mask.width)
    mask = mask.resize((max(1, round(mask.width * scale)), max(1, round(mask.height * scale))),
                       Image.Resampling.BOX)
    return place(mask, size, rng, spread=0.03)


def paint_digit(digit: int, rng: np.random.Generator, size: int = 28, pen: str = "brush",
                dark: bool = True, hard: bool = False, frame: bool = False) -> Image.Image:
    """A digit drawn in a paint program on a `size` x `size` canvas: dark on white or light on
    black, with soft (anti-aliased) or hard brush edges, optionally framed by a 1 px line."""
    ink = shrunk_digit(digit, pen, (size, size), rng)
    if hard:
        ink = (ink > 0.4).astype(np.float32)
    image = 1.0 - ink if dark else ink
    if frame:
        line = 0.0 if dark else 1.0
        image[0], image[-1], image[:, 0], image[:, -1] = line, line, line, line
    return Image.fromarray((image * 255).astype(np.uint8)).convert("RGB")


def small_scene(digit: int, kind: str, rng: np.random.Generator) -> Image.Image:
    """A digit-sized image: a 28x28 paint-program drawing (either polarity, thin to bold brush,
    hard or soft edges, sometimes framed), or a 40-64 px crop of a photo of paper."""
    if kind == "small_paint":
        return paint_digit(digit, rng, pen=str(rng.choice(["mouse", "brush"])),
                           hard=rng.random() < 0.5, dark=rng.random() < 0.6,
                           frame=rng.random() < 0.2)
    width = int(rng.integers(40, 65))
    size = (width, int(width * rng.uniform(1.0, 1.25)))
    ink = shrunk_digit(digit, str(rng.choice(["pen", "marker"])), size, rng)
    paper = np.array([1.0, 0.97, 0.9]) * rng.uniform(0.6, 0.95)
    ink_color = np.array(rng.choice([[0.05, 0.05, 0.08], [0.1, 0.15, 0.55]]))
    page = np.ones((size[1], size[0], 3)) * paper
    page = (page * (1 - ink[..., None]) + ink_color * ink[..., None]) * lighting(
        size[1], size[0], rng, shadow=False)
    image = Image.fromarray((np.clip(page, 0, 1) * 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.8)))
    noisy = np.asarray(image, np.float32) + rng.normal(0, rng.uniform(2, 6), (size[1], size[0], 1))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


# Styles MNIST has few of: a 1 with a long flag and a 7 with a bar (common outside North
# America), a 4 whose long upright is written apart from the rest.
STYLES = {
    1: [[[(0.1, 0.4), (0.62, 0.0)], [(0.62, 0.0), (0.58, 0.5), (0.55, 1.0)]]],
    7: [[[(0.1, 0.04), (0.9, 0.0)], [(0.9, 0.0), (0.62, 0.5), (0.42, 1.0)],
         [(0.38, 0.52), (0.88, 0.5)]]],
    4: [[[(0.12, 0.08), (0.1, 0.45), (0.6, 0.47)], [(0.78, 0.0), (0.74, 1.0)]]],
}


def on_paper(ink: np.ndarray, ink_color: tuple[float, float, float] = (0.1, 0.1, 0.12),
             margin: int = 40) -> Image.Image:
    """An ink mask (h, w) in 0..1 written in `ink_color` on white paper, as an RGB image."""
    ink = np.pad(ink, margin)[..., np.newaxis]
    page = np.array([0.98, 0.97, 0.95]) * (1 - ink) + np.array(ink_color) * ink
    return Image.fromarray((np.clip(page, 0, 1) * 255).astype(np.uint8))


def hard_cases(seed: int = 0) -> list[tuple[str, int, Image.Image]]:
    """One image for each family of real images that defeats a naive MNIST pipeline, drawn by
    this generator: (what it shows, digit, image)."""
    rng = np.random.default_rng(seed)

    def mask(digit: int, pen: str, variants: list | None = None) -> np.ndarray:
        return np.asarray(draw_digit(digit, pen, 200, rng, variants), np.float32) / 255

    bold_nine = ndimage.grey_dilation(mask(9, "marker"), size=11)
    bold_eight = ndimage.grey_dilation(mask(8, "marker"), size=11)
    fading = mask(5, "pen")
    fading[:, : fading.shape[1] // 2] *= 0.4  # the pen runs dry on the left half
    return [
        ("28x28 paint canvas, framed", 7, paint_digit(7, rng, hard=True, frame=True)),
        ("28x28, thin, light on dark", 4, paint_digit(4, rng, pen="mouse", dark=False)),
        ("48x48, bold brush", 2, paint_digit(2, rng, size=48)),
        ("bold marker", 9, on_paper(bold_nine)),
        ("bold marker", 8, on_paper(bold_eight)),
        ("light blue ballpoint", 4, on_paper(mask(4, "pen"), (0.55, 0.65, 0.92))),
        ("pen running dry", 5, on_paper(fading)),
        ("continental 1", 1, on_paper(mask(1, "pen", STYLES[1]))),
        ("7 with a bar", 7, on_paper(mask(7, "pen", STYLES[7]))),
        ("4, upright apart", 4, on_paper(mask(4, "pen", STYLES[4]))),
    ]


def chalk_dust(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency chalk dust: random blobs blown up from a tiny noise image."""
    small = Image.fromarray((rng.uniform(0.8, 1.4, (6, 8)) * 100).astype(np.uint8))
    big = small.resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(big, np.float32)[..., None] / 100


def make_image(digit: int, kind: str, rng: np.random.Generator) -> Image.Image:
    """One synthetic image of `digit` degraded as `kind` (one of KINDS)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; choose one of {KINDS}.")
    if kind.startswith("canvas"):
        return canvas_scene(digit, kind, rng)
    if kind == "chalkboard":
        return chalk_scene(digit, rng)
    if kind.startswith("small"):
        return small_scene(digit, kind, rng)
    return paper_scene(digit, kind, rng)


def encode(image: Image.Image, kind: str, rng: np.random.Generator) -> tuple[bytes, str]:
    """Encode as a photo would be (JPEG of varied quality) or a canvas/scan (PNG)."""
    buffer = io.BytesIO()
    if kind.startswith("canvas") or kind in ("scan_pen", "small_paint"):
        image.save(buffer, "PNG")
        return buffer.getvalue(), ".png"
    image.save(buffer, "JPEG", quality=int(rng.integers(55, 92)))
    return buffer.getvalue(), ".jpg"


def label_from_name(path: str | Path) -> int | None:
    """The digit in a file name like `photo_pen_digit7.jpg`, or None when it holds none."""
    match = re.search(r"digit(\d)(?!\d)", Path(path).stem)
    return int(match.group(1)) if match else None


def render_kinds(per_kind: int, seed: int, kinds: tuple[str, ...] = KINDS,
                 rotate_digits: bool = False):
    """Yield (kind, index, digit, encoded bytes, suffix) for `per_kind` images of every kind.

    Digits come in turn (0, 1, 2, ...); with `rotate_digits`, each kind starts where the previous
    one stopped. Every kind has its own generator seeded by (seed, kind index).
    """
    for kind_index, kind in enumerate(kinds):
        rng = np.random.default_rng([seed, kind_index])
        first = kind_index * per_kind if rotate_digits else 0
        for index in range(per_kind):
            digit = (first + index) % 10
            data, suffix = encode(make_image(digit, kind, rng), kind, rng)
            yield kind, index, digit, data, suffix


def generate(out_dir: str | Path, per_kind: int, seed: int = 0,
             kinds: tuple[str, ...] = KINDS) -> Path:
    """Write `per_kind` images of every kind (digits in turn) and a `labels.csv`; return it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for kind, index, digit, data, suffix in render_kinds(per_kind, seed, kinds):
        name = f"{kind}_{index:04d}_digit{digit}{suffix}"
        (out_dir / name).write_bytes(data)
        rows.append({"file": name, "kind": kind, "digit": digit})
    labels = out_dir / "labels.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "kind", "digit"])
        writer.writeheader()
        writer.writerows(rows)
    return labels


def write_samples(out_dir: str | Path, per_kind: int = 3, seed: int = 1) -> list[Path]:
    """The small labelled samples shipped in data/custom/: `<kind>_digit<d>.<ext>`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, _, digit, data, suffix in render_kinds(per_kind, seed, rotate_digits=True):
        paths.append(out_dir / f"{kind}_digit{digit}{suffix}")
        paths[-1].write_bytes(data)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digitlab.synth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="output folder (default: data/synthetic, or data/custom "
                                      "with --samples)")
    parser.add_argument("--per-kind", type=int, default=200, help="images per kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", action="store_true",
                        help="write the few shipped samples (3 per kind) instead, into --out "
                             "(default: data/custom)")
    args = parser.parse_args(argv)
    if args.per_kind < 1:
        parser.error("--per-kind must be at least 1")
    if args.samples:
        paths = write_samples(args.out or config.DATA_DIR / "custom")
        print(f"Wrote {len(paths)} samples to {paths[0].parent}")
        return 0
    labels = generate(args.out or config.DATA_DIR / "synthetic", args.per_kind, args.seed)
    print(f"Wrote {args.per_kind * len(KINDS)} images and {labels}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
