"""Synthetic "real-world" digit images, drawn from scratch: no MNIST pixel is used.

Each digit, drawn as handwriting by `digitlab.images.handwriting`, is rendered as a photo of paper
(perspective, shadows, uneven light, blur, noise, JPEG), a scan, a canvas drawing (transparent
PNG, black or white strokes), chalk on a board, or a digit-sized image (a 28x28 paint canvas, a
small crop of a photo).

    python -m digitlab.images.synth --out data/synthetic --per-kind 200
"""

import argparse
import csv
import io
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from digitlab import config
from digitlab.images.handwriting import draw_digit, paint_digit, place, shrunk_digit

KINDS = ("scan_pen", "photo_pen", "photo_marker", "lined_paper", "shadow_and_edges",
         "canvas_black", "canvas_white", "canvas_offcentre", "chalkboard",
         "small_paint", "small_photo")


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
    parser = argparse.ArgumentParser(prog="python -m digitlab.images.synth", description=__doc__,
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
