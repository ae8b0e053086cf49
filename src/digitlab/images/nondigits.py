"""Handwritten things that are not digits, drawn by the digits' own pen model: letters, symbols,
doodles, scribbles, random glyphs, characters of made-up scripts, noise and clutter, and MNIST
digits turned into non-digits (mirrored, turned on their side, two written over each other).

They teach and test the digit check (`digitlab.serve.digit_check`) what a digit is not. Shapes
that a careful reader could take for a digit are left out on purpose: O, I, l, S, s, Z, z, B, b,
q, g (0, 1, 5, 2, 8, 6, 9), a lone slash or bracket (1).
"""

import numpy as np
from PIL import Image
from scipy import ndimage

from digitlab.images.handwriting import TEMPLATES, draw_digit

Stroke = list[tuple[float, float]]

# Strokes in a unit box (x right, y down), as in `handwriting.TEMPLATES`.
LETTERS: dict[str, list[Stroke]] = {
    "A": [[(0.1, 1.0), (0.5, 0.0)], [(0.5, 0.0), (0.9, 1.0)], [(0.28, 0.6), (0.72, 0.6)]],
    "C": [[(0.85, 0.15), (0.5, 0.0), (0.15, 0.25), (0.12, 0.7), (0.45, 1.0), (0.88, 0.85)]],
    "D": [[(0.15, 0.0), (0.15, 1.0)], [(0.15, 0.0), (0.7, 0.1), (0.9, 0.5), (0.7, 0.9),
                                       (0.15, 1.0)]],
    "E": [[(0.8, 0.0), (0.15, 0.0), (0.15, 1.0), (0.85, 1.0)], [(0.15, 0.5), (0.65, 0.5)]],
    "F": [[(0.85, 0.0), (0.15, 0.0), (0.15, 1.0)], [(0.15, 0.48), (0.65, 0.48)]],
    "G": [[(0.85, 0.15), (0.5, 0.0), (0.15, 0.25), (0.12, 0.7), (0.45, 1.0), (0.85, 0.85),
           (0.85, 0.55)], [(0.85, 0.55), (0.55, 0.55)]],
    "H": [[(0.15, 0.0), (0.15, 1.0)], [(0.85, 0.0), (0.85, 1.0)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.15, 0.0), (0.15, 1.0)], [(0.85, 0.0), (0.15, 0.55)], [(0.35, 0.42), (0.85, 1.0)]],
    "L": [[(0.2, 0.0), (0.2, 1.0)], [(0.2, 1.0), (0.85, 1.0)]],
    "M": [[(0.1, 1.0), (0.15, 0.0)], [(0.15, 0.0), (0.5, 0.65)], [(0.5, 0.65), (0.85, 0.0)],
          [(0.85, 0.0), (0.9, 1.0)]],
    "N": [[(0.15, 1.0), (0.15, 0.0)], [(0.15, 0.0), (0.85, 1.0)], [(0.85, 1.0), (0.85, 0.0)]],
    "P": [[(0.2, 1.0), (0.2, 0.0)], [(0.2, 0.0), (0.75, 0.05), (0.85, 0.28), (0.7, 0.5),
                                     (0.2, 0.52)]],
    "R": [[(0.2, 1.0), (0.2, 0.0)], [(0.2, 0.0), (0.75, 0.05), (0.85, 0.28), (0.7, 0.5),
                                     (0.2, 0.52)], [(0.45, 0.52), (0.85, 1.0)]],
    "T": [[(0.05, 0.0), (0.95, 0.0)], [(0.5, 0.0), (0.5, 1.0)]],
    "U": [[(0.15, 0.0), (0.15, 0.7), (0.5, 1.0), (0.85, 0.7), (0.85, 0.0)]],
    "V": [[(0.1, 0.0), (0.5, 1.0)], [(0.5, 1.0), (0.9, 0.0)]],
    "W": [[(0.05, 0.0), (0.28, 1.0)], [(0.28, 1.0), (0.5, 0.35)], [(0.5, 0.35), (0.72, 1.0)],
          [(0.72, 1.0), (0.95, 0.0)]],
    "X": [[(0.1, 0.0), (0.9, 1.0)], [(0.9, 0.0), (0.1, 1.0)]],
    "Y": [[(0.1, 0.0), (0.5, 0.5)], [(0.9, 0.0), (0.5, 0.5)], [(0.5, 0.5), (0.5, 1.0)]],
    "Q": [[(0.5, 0.0), (0.15, 0.2), (0.1, 0.55), (0.3, 0.9), (0.6, 0.95), (0.88, 0.6),
           (0.8, 0.15), (0.5, 0.0)], [(0.55, 0.7), (0.95, 1.0)]],
    "a": [[(0.75, 0.45), (0.45, 0.35), (0.2, 0.6), (0.3, 0.95), (0.6, 0.9), (0.75, 0.6)],
          [(0.75, 0.35), (0.75, 0.9), (0.9, 1.0)]],
    "e": [[(0.15, 0.6), (0.85, 0.6), (0.7, 0.3), (0.4, 0.3), (0.15, 0.6), (0.35, 0.95),
           (0.85, 0.9)]],
    "f": [[(0.85, 0.1), (0.6, 0.0), (0.45, 0.2), (0.45, 1.0)], [(0.2, 0.4), (0.75, 0.4)]],
    "h": [[(0.2, 0.0), (0.2, 1.0)], [(0.2, 0.6), (0.5, 0.4), (0.8, 0.55), (0.8, 1.0)]],
    "k": [[(0.2, 0.0), (0.2, 1.0)], [(0.8, 0.35), (0.2, 0.7)], [(0.4, 0.6), (0.85, 1.0)]],
    "m": [[(0.05, 0.35), (0.05, 1.0)], [(0.05, 0.5), (0.27, 0.35), (0.5, 0.5), (0.5, 1.0)],
          [(0.5, 0.5), (0.72, 0.35), (0.95, 0.5), (0.95, 1.0)]],
    "n": [[(0.2, 0.35), (0.2, 1.0)], [(0.2, 0.55), (0.5, 0.35), (0.8, 0.55), (0.8, 1.0)]],
    "r": [[(0.3, 0.3), (0.3, 1.0)], [(0.3, 0.55), (0.55, 0.33), (0.85, 0.38)]],
    "t": [[(0.45, 0.0), (0.45, 0.85), (0.6, 1.0), (0.8, 0.9)], [(0.15, 0.35), (0.8, 0.35)]],
    "u": [[(0.2, 0.35), (0.2, 0.8), (0.5, 1.0), (0.8, 0.8)], [(0.8, 0.35), (0.8, 1.0)]],
    "v": [[(0.15, 0.35), (0.5, 1.0)], [(0.5, 1.0), (0.85, 0.35)]],
    "w": [[(0.05, 0.35), (0.28, 1.0)], [(0.28, 1.0), (0.5, 0.5)], [(0.5, 0.5), (0.72, 1.0)],
          [(0.72, 1.0), (0.95, 0.35)]],
    "x": [[(0.15, 0.35), (0.85, 1.0)], [(0.85, 0.35), (0.15, 1.0)]],
    "y": [[(0.15, 0.3), (0.5, 0.7)], [(0.85, 0.3), (0.3, 1.0)]],
    "p": [[(0.2, 0.3), (0.2, 1.0)], [(0.2, 0.4), (0.5, 0.3), (0.8, 0.45), (0.75, 0.65),
                                     (0.45, 0.72), (0.2, 0.62)]],
}

SYMBOLS: dict[str, list[Stroke]] = {
    "+": [[(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]],
    "-": [[(0.05, 0.5), (0.95, 0.52)]],
    "=": [[(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.65), (0.9, 0.65)]],
    "x": [[(0.15, 0.15), (0.85, 0.85)], [(0.85, 0.15), (0.15, 0.85)]],
    "÷": [[(0.1, 0.5), (0.9, 0.5)], [(0.5, 0.2), (0.52, 0.23)], [(0.5, 0.77), (0.52, 0.8)]],
    "%": [[(0.85, 0.0), (0.15, 1.0)], [(0.25, 0.05), (0.1, 0.2), (0.25, 0.35), (0.4, 0.2),
                                       (0.25, 0.05)],
          [(0.75, 0.65), (0.6, 0.8), (0.75, 0.95), (0.9, 0.8), (0.75, 0.65)]],
    "$": [[(0.8, 0.2), (0.5, 0.1), (0.2, 0.25), (0.35, 0.45), (0.65, 0.55), (0.8, 0.75),
           (0.5, 0.9), (0.2, 0.8)], [(0.5, 0.0), (0.5, 1.0)]],
    "check": [[(0.05, 0.55), (0.35, 0.95)], [(0.35, 0.95), (0.95, 0.0)]],
    "#": [[(0.35, 0.0), (0.3, 1.0)], [(0.7, 0.0), (0.65, 1.0)], [(0.05, 0.33), (0.95, 0.33)],
          [(0.05, 0.67), (0.95, 0.67)]],
    "@": [[(0.65, 0.6), (0.55, 0.35), (0.35, 0.45), (0.4, 0.7), (0.65, 0.6), (0.75, 0.7),
           (0.95, 0.5), (0.8, 0.1), (0.45, 0.0), (0.1, 0.3), (0.15, 0.8), (0.5, 1.0),
           (0.85, 0.9)]],
    "?": [[(0.2, 0.25), (0.45, 0.0), (0.8, 0.15), (0.75, 0.4), (0.5, 0.55), (0.5, 0.75)],
          [(0.5, 0.92), (0.52, 0.96)]],
    "!": [[(0.5, 0.0), (0.5, 0.7)], [(0.5, 0.9), (0.52, 0.94)]],
    "*": [[(0.5, 0.0), (0.5, 1.0)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
    "&": [[(0.9, 1.0), (0.25, 0.35), (0.4, 0.0), (0.6, 0.2), (0.2, 0.6), (0.3, 0.95),
           (0.65, 0.85), (0.9, 0.55)]],
    "<": [[(0.85, 0.1), (0.15, 0.5)], [(0.15, 0.5), (0.85, 0.9)]],
    ">": [[(0.15, 0.1), (0.85, 0.5)], [(0.85, 0.5), (0.15, 0.9)]],
    "arrow": [[(0.05, 0.5), (0.95, 0.5)], [(0.65, 0.2), (0.95, 0.5)], [(0.95, 0.5), (0.65, 0.8)]],
    "~": [[(0.05, 0.55), (0.3, 0.4), (0.5, 0.55), (0.7, 0.65), (0.95, 0.45)]],
}

DOODLES: dict[str, list[Stroke]] = {
    "smiley": [[(0.5, 0.0), (0.15, 0.15), (0.0, 0.5), (0.15, 0.85), (0.5, 1.0), (0.85, 0.85),
                (1.0, 0.5), (0.85, 0.15), (0.5, 0.0)], [(0.33, 0.35), (0.35, 0.38)],
               [(0.65, 0.35), (0.67, 0.38)], [(0.25, 0.62), (0.5, 0.8), (0.75, 0.62)]],
    "star": [[(0.5, 0.0), (0.2, 1.0)], [(0.2, 1.0), (0.95, 0.35)], [(0.95, 0.35), (0.05, 0.35)],
             [(0.05, 0.35), (0.8, 1.0)], [(0.8, 1.0), (0.5, 0.0)]],
    "heart": [[(0.5, 1.0), (0.1, 0.5), (0.1, 0.15), (0.3, 0.05), (0.5, 0.25)],
              [(0.5, 0.25), (0.7, 0.05), (0.9, 0.15), (0.9, 0.5), (0.5, 1.0)]],
    "house": [[(0.15, 1.0), (0.15, 0.45), (0.85, 0.45), (0.85, 1.0), (0.15, 1.0)],
              [(0.05, 0.5), (0.5, 0.0)], [(0.5, 0.0), (0.95, 0.5)]],
    "box": [[(0.1, 0.1), (0.9, 0.1)], [(0.9, 0.1), (0.9, 0.9)], [(0.9, 0.9), (0.1, 0.9)],
            [(0.1, 0.9), (0.1, 0.1)]],
    "ticked box": [[(0.1, 0.2), (0.8, 0.2)], [(0.8, 0.2), (0.8, 0.95)],
                   [(0.8, 0.95), (0.1, 0.95)], [(0.1, 0.95), (0.1, 0.2)],
                   [(0.25, 0.55), (0.45, 0.8)], [(0.45, 0.8), (0.95, 0.0)]],
    "triangle": [[(0.5, 0.0), (0.95, 0.9)], [(0.95, 0.9), (0.05, 0.9)], [(0.05, 0.9), (0.5, 0.0)]],
    "spiral": [[(0.5, 0.5), (0.6, 0.45), (0.6, 0.6), (0.4, 0.65), (0.3, 0.45), (0.45, 0.25),
                (0.75, 0.3), (0.85, 0.6), (0.6, 0.9), (0.2, 0.85), (0.05, 0.5), (0.25, 0.1),
                (0.65, 0.0)]],
    "zigzag": [[(0.0, 0.3), (0.2, 0.7), (0.4, 0.3), (0.6, 0.7), (0.8, 0.3), (1.0, 0.7)]],
    "waves": [[(0.0, 0.3), (0.25, 0.15), (0.5, 0.3), (0.75, 0.45), (1.0, 0.3)],
              [(0.0, 0.7), (0.25, 0.55), (0.5, 0.7), (0.75, 0.85), (1.0, 0.7)]],
    "sun": [[(0.5, 0.25), (0.3, 0.35), (0.25, 0.55), (0.4, 0.72), (0.62, 0.72), (0.75, 0.5),
             (0.65, 0.3), (0.5, 0.25)], [(0.5, 0.0), (0.5, 0.12)], [(0.5, 0.88), (0.5, 1.0)],
            [(0.0, 0.5), (0.12, 0.5)], [(0.88, 0.5), (1.0, 0.5)], [(0.15, 0.15), (0.25, 0.25)],
            [(0.85, 0.15), (0.75, 0.25)], [(0.15, 0.85), (0.25, 0.75)],
            [(0.85, 0.85), (0.75, 0.75)]],
    "flower": [[(0.5, 0.5), (0.3, 0.1), (0.5, 0.0), (0.7, 0.1), (0.5, 0.5), (0.9, 0.3),
                (1.0, 0.5), (0.9, 0.7), (0.5, 0.5), (0.7, 0.9), (0.5, 1.0), (0.3, 0.9),
                (0.5, 0.5), (0.1, 0.7), (0.0, 0.5), (0.1, 0.3), (0.5, 0.5)]],
}

SHAPES = {"letter": LETTERS, "symbol": SYMBOLS, "doodle": DOODLES}
# Digits that stay digits when mirrored (0, 1, 8) or turned a half-turn (0, 1, 6 <-> 9, 8) are
# never made into non-digits that way; a 1 on its side is a dash, a non-digit.
MIRRORABLE = (2, 3, 4, 5, 6, 7, 9)
TURNABLE = (2, 3, 4, 5, 7)
KINDS = ("letter", "symbol", "doodle", "glyph", "parts", "character", "scribble", "noise", "blob",
         "clutter", "mnist_mirrored", "mnist_turned", "mnist_overlaid")
PENS = ("pen", "marker", "mouse", "brush")


def glyph(rng: np.random.Generator) -> list[Stroke]:
    """A made-up character: 2-4 strokes of 3-5 random points (an unknown alphabet)."""
    return [[tuple(point) for point in rng.uniform(0, 1, (int(rng.integers(3, 6)), 2))]
            for _ in range(int(rng.integers(2, 5)))]


def parts(rng: np.random.Generator) -> list[Stroke]:
    """A character of an unknown alphabet made of handwriting's own parts: 3 strokes of digits,
    letters and symbols, each moved, scaled and perhaps mirrored into a new arrangement (two
    could make a flagged 1 or a 7)."""
    pool = [stroke for strokes in [*LETTERS.values(), *SYMBOLS.values()] for stroke in strokes]
    pool += [stroke for variants in TEMPLATES.values() for strokes in variants
             for stroke in strokes]
    chosen = []
    for _ in range(3):
        points = np.array(pool[rng.integers(len(pool))], float)
        if rng.random() < 0.5:
            points[:, 0] = 1 - points[:, 0]
        scale = rng.uniform(0.4, 1.0)
        points = points * scale + rng.uniform(0, 1 - scale, 2)
        chosen.append([tuple(point) for point in points])
    return chosen


GRID = [(x, y) for x in (0.0, 0.5, 1.0) for y in (0.0, 0.5, 1.0)]  # a character's key points


def pen_stroke(rng: np.random.Generator) -> Stroke:
    """One stroke of a made-up character: 2 or 3 moves between GRID points (each well apart),
    every move straight, arched, or starting with a small loop."""
    here = np.array(GRID[rng.integers(len(GRID))]) + rng.normal(0, 0.05, 2)
    points, moves = [here], int(rng.integers(2, 4))
    while moves:
        there = np.array(GRID[rng.integers(len(GRID))]) + rng.normal(0, 0.05, 2)
        if np.hypot(*(there - here)) < 0.45:
            continue
        moves -= 1
        move = rng.choice(["straight", "arch", "loop"], p=[0.45, 0.4, 0.15])
        if move == "loop":
            radius, start = rng.uniform(0.1, 0.2), rng.uniform(0, 2 * np.pi)
            turn = np.linspace(start, start + 2 * np.pi * rng.choice([-1, 1]), 9)[1:]
            centre = here + radius * np.array([np.cos(start), np.sin(start)])
            points += [centre - radius * np.array([np.cos(a), np.sin(a)]) for a in turn]
        elif move == "arch":
            normal = np.array([here[1] - there[1], there[0] - here[0]])
            points.append((here + there) / 2 + normal * rng.uniform(0.2, 0.4)
                          * rng.choice([-1, 1]))
        points.append(there)
        here = there
    return [tuple(point) for point in points]


def character(rng: np.random.Generator) -> list[Stroke]:
    """A character of an unknown script, built as scripts build theirs: 1-3 pen strokes
    (`pen_stroke`). A few come out like a digit (straight moves make a 1, 4 or 7 now and then),
    as a few glyphs do."""
    return [pen_stroke(rng) for _ in range(int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15])))]


def scribble(rng: np.random.Generator) -> list[Stroke]:
    """A scribble or a signature: one long stroke wandering over the box."""
    steps = int(rng.integers(10, 25))
    walk = np.cumsum(rng.normal(0, 0.25, (steps, 2)), axis=0)
    if rng.random() < 0.5:  # a signature runs left to right
        walk[:, 0] = np.linspace(0, 3, steps) + rng.normal(0, 0.1, steps)
    return [[tuple(point) for point in walk]]


def texture(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Ink (h, w) in 0..1 that is no drawing at all: noise, a blot, clutter of shapes."""
    if kind == "noise":
        ink = rng.uniform(0, 1, (size, size)) * rng.uniform(0.3, 1.0)
        return ndimage.uniform_filter(ink, int(rng.integers(1, 4)))
    if kind == "blob":
        yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
        radius = 0.25 + 0.1 * np.sin(np.arctan2(yy, xx) * rng.integers(2, 6) + rng.uniform(0, 6))
        return (np.hypot(yy * rng.uniform(0.6, 1.4), xx) < radius).astype(np.float32)
    ink = np.zeros((size, size), np.float32)  # clutter: rectangles and discs, as in a photo
    for _ in range(int(rng.integers(3, 9))):
        y, x = rng.integers(0, size, 2)
        h, w = rng.integers(size // 10, size // 2, 2)
        ink[y: y + h, x: x + w] = np.maximum(ink[y: y + h, x: x + w], rng.uniform(0.3, 1.0))
    return ndimage.gaussian_filter(ink, rng.uniform(0.5, 2.0))


def mnist_non_digit(kind: str, images: np.ndarray, labels: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """A real MNIST digit made into a non-digit: mirrored, turned, or two written over each
    other. Returns its ink (28, 28) in 0..1."""
    def pick(digits: tuple[int, ...]) -> np.ndarray:
        index = rng.choice(np.flatnonzero(np.isin(labels, digits)))
        return images[index].astype(np.float32) / 255

    if kind == "mnist_mirrored":
        return pick(MIRRORABLE)[:, ::-1]
    if kind == "mnist_turned":  # a quarter or half turn; a 1 only a quarter (a dash)
        if rng.random() < 0.15:
            return np.rot90(pick((1,)), int(rng.choice([1, 3])))
        return np.rot90(pick(TURNABLE), int(rng.choice([1, 2, 3])))
    first, second = pick(tuple(range(10))), pick(tuple(range(10)))
    shift = rng.integers(4, 9, 2) * rng.choice([-1, 1], 2)  # far enough apart to be two
    return np.maximum(first, np.roll(second, tuple(shift), axis=(0, 1)))


def non_digit_ink(kind: str, rng: np.random.Generator, mnist: tuple | None = None) -> np.ndarray:
    """The ink (h, w) in 0..1 of one non-digit of `kind` (one of KINDS); the mnist_* kinds need
    `mnist` = (images, labels), MNIST training digits."""
    if kind.startswith("mnist_"):
        if mnist is None:
            raise ValueError(f"{kind} is made from MNIST digits: pass mnist=(images, labels).")
        return mnist_non_digit(kind, mnist[0], mnist[1], rng)
    if kind in ("noise", "blob", "clutter"):
        return texture(kind, int(rng.integers(28, 120)), rng)
    if kind in SHAPES:
        shapes = SHAPES[kind]
        strokes = shapes[list(shapes)[rng.integers(len(shapes))]]
    else:
        strokes = {"glyph": glyph, "parts": parts, "character": character,
                   "scribble": scribble}[kind](rng)
    pen = str(rng.choice(PENS))
    mask = draw_digit(0, pen, int(rng.integers(60, 160)), rng, variants=[strokes])
    return np.asarray(mask, np.float32) / 255


def as_picture(ink: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Ink as a picture a user might give: dark on light paper or light on a dark canvas, with
    a margin, at its own size or enlarged, a little noisy. Digits are made into pictures the
    same way, so that digits and non-digits differ in shape only."""
    margin = int(rng.integers(0, max(2, ink.shape[0] // 3)))
    ink = np.pad(ink, margin)
    if max(ink.shape) < 40 and rng.random() < 0.5:
        scale = int(rng.integers(2, 5))
        ink = np.kron(ink, np.ones((scale, scale), np.float32))
    dark = rng.random() < 0.75
    page = 1.0 - 0.85 * ink if dark else 0.05 + 0.9 * ink
    page = page + rng.normal(0, rng.uniform(0, 0.03), page.shape)
    return Image.fromarray((np.clip(page, 0, 1) * 255).astype(np.uint8))


def make_non_digit(rng: np.random.Generator, mnist: tuple | None = None,
                   kinds: tuple[str, ...] = KINDS) -> tuple[str, Image.Image]:
    """One non-digit picture of a kind drawn from `kinds`: (kind, image)."""
    kind = str(rng.choice(kinds))
    return kind, as_picture(non_digit_ink(kind, rng, mnist), rng)
