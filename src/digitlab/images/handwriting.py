"""Handwritten digits drawn from scratch, as ink masks: no MNIST pixel is used.

A digit is a few strokes (templates below, or styles MNIST has few of), jittered, slanted and
rotated like handwriting, and drawn with a pen, a marker, a mouse, chalk or a paint brush.
`paint_digit` puts one on a small paint-program canvas, `on_paper` on white paper, and
`hard_cases` draws one image for each family of real images that defeats a naive pipeline.
`digitlab.images.synth` turns the masks into photos, scans and drawings.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

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

# Styles MNIST has few of: a 1 with a long flag and a 7 with a bar (common outside North
# America), a 4 whose long upright is written apart from the rest.
STYLES = {
    1: [[[(0.1, 0.4), (0.62, 0.0)], [(0.62, 0.0), (0.58, 0.5), (0.55, 1.0)]]],
    7: [[[(0.1, 0.04), (0.9, 0.0)], [(0.9, 0.0), (0.62, 0.5), (0.42, 1.0)],
         [(0.38, 0.52), (0.88, 0.5)]]],
    4: [[[(0.12, 0.08), (0.1, 0.45), (0.6, 0.47)], [(0.78, 0.0), (0.74, 1.0)]]],
}


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
        speckle = rng.uniform(0, 1, (canvas.height, canvas.width)) < 0.75
        grain = Image.fromarray((speckle * 255).astype(np.uint8)).filter(ImageFilter.BoxBlur(1))
        canvas = Image.fromarray((np.asarray(canvas, np.float32) * np.asarray(grain) / 255
                                  * rng.uniform(0.7, 1.0)).astype(np.uint8))
    if pen == "pen":  # ink pressure varies
        canvas = Image.fromarray((np.asarray(canvas, np.float32) * rng.uniform(0.75, 1.0))
                                 .astype(np.uint8))
    return canvas


def draw_number(digits: str, pen: str, height: int, rng: np.random.Generator,
                gap: tuple[float, float] = (0.15, 0.5)) -> Image.Image:
    """Render a number (a string of digits) as one "L" ink mask, the digits side by side on a
    line, `gap` (a range, as a fraction of `height`) apart, each a little up or down."""
    masks = [draw_digit(int(digit), pen, height, rng) for digit in digits]
    masks = [mask.crop(mask.getbbox()) for mask in masks]
    gaps = [int(rng.uniform(*gap) * height) for _ in masks[1:]]
    shifts = [int(rng.normal(0, 0.04) * height) for _ in masks]
    margin = int(0.1 * height)
    width = sum(mask.width for mask in masks) + sum(gaps) + 2 * margin
    canvas = Image.new("L", (width, max(mask.height for mask in masks) + 4 * margin), 0)
    x = margin
    for mask, shift, after in zip(masks, shifts, [*gaps, 0], strict=True):
        canvas.paste(mask, (x, 2 * margin + shift - mask.height + masks[0].height), mask)
        x += mask.width + after
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
        ("28px canvas framed", 7, paint_digit(7, rng, hard=True, frame=True)),
        ("28px thin on black", 4, paint_digit(4, rng, pen="mouse", dark=False)),
        ("48px bold brush", 2, paint_digit(2, rng, size=48)),
        ("bold marker", 9, on_paper(bold_nine)),
        ("bold marker", 8, on_paper(bold_eight)),
        ("light blue pen", 4, on_paper(mask(4, "pen"), (0.55, 0.65, 0.92))),
        ("pen running dry", 5, on_paper(fading)),
        ("continental 1", 1, on_paper(mask(1, "pen", STYLES[1]))),
        ("7 with a bar", 7, on_paper(mask(7, "pen", STYLES[7]))),
        ("4, upright apart", 4, on_paper(mask(4, "pen", STYLES[4]))),
    ]
