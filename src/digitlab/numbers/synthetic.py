"""Numbers made to measure the reader on: MNIST digits set side by side, the way people write
numbers (apart, touching or overlapping, a little up or down, larger and smaller), with marks
that are not digits (a dot, a comma, a dash, an underline), on paper that may be ruled and is
photographed. Numbers made from MNIST's validation digits choose; from its test digits they are
reported only.
"""

import numpy as np
from PIL import Image

from digitlab.images.synth import lighting, photograph

LENGTHS = tuple(range(1, 13))  # digits per number
GAPS = (-0.15, 0.6)  # digit heights between neighbours, drawn evenly: below 0 they touch


def crop(image: np.ndarray) -> np.ndarray:
    """A digit (0..1) cropped to its ink."""
    rows, columns = np.nonzero(image > 0.1)
    return image[rows.min(): rows.max() + 1, columns.min(): columns.max() + 1]


def resized(image: np.ndarray, scale: float) -> np.ndarray:
    height, width = image.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def compose(images: np.ndarray, labels: np.ndarray, length: int, rng: np.random.Generator,
            gaps: tuple[float, float] = GAPS, marks: bool = True) -> tuple[np.ndarray, str]:
    """A number of `length` digits drawn at random from MNIST (images, labels), as an ink map
    (0..1, about 28 pixels a digit) and its digits. With `marks`, marks that are not digits are
    added now and then: a dot or comma between digits, a dash, an underline."""
    chosen = rng.choice(len(labels), length, replace=False)
    digits = [resized(crop(images[index] / np.float32(255)), rng.uniform(0.85, 1.15))
              for index in chosen]
    height = 28
    spaces = [int(rng.uniform(*gaps) * height) for _ in digits[1:]]  # < 0: they touch
    shifts = [int(rng.normal(0, 0.05) * height) for _ in digits]
    margin = height
    width = (sum(digit.shape[1] for digit in digits) + sum(max(0, gap) for gap in spaces)
             + 2 * margin)
    ink = np.zeros((3 * height, width), np.float32)
    x = margin
    for digit, shift, gap in zip(digits, shifts, [*spaces, 0], strict=True):
        top = height + shift + (height - digit.shape[0])  # on a common baseline
        region = ink[top: top + digit.shape[0], x: x + digit.shape[1]]
        np.maximum(region, digit[: region.shape[0], : region.shape[1]], out=region)
        if marks and length > 2 and rng.random() < 0.1:  # a separator after this digit
            mark = rng.choice(["dot", "comma", "dash"])
            left = x + digit.shape[1] + max(1, gap // 2 if gap > 4 else 1)
            if mark == "dash":
                ink[int(1.45 * height): int(1.45 * height) + 2, left - 3: left + 3] = 1.0
            else:
                bottom = 2 * height + (4 if mark == "comma" else 0)
                ink[2 * height - 3: bottom, left: left + 3] = 1.0
        x += digit.shape[1] + gap
    if marks and rng.random() < 0.15:  # an underline
        ink[2 * height + 4: 2 * height + 6, margin // 2: x + margin // 2] = 1.0
    return ink[:, : x + margin], "".join(str(int(labels[index])) for index in chosen)


def picture(ink: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """An ink map as a photo of paper (sometimes ruled), two to four times larger."""
    scale = rng.uniform(2, 4)
    ink = resized(ink, scale)
    height, width = ink.shape
    paper = np.ones((height, width, 3), np.float32) * rng.uniform(0.8, 1.0)
    if rng.random() < 0.3:  # ruled paper: faint blue lines
        spacing = int(rng.uniform(0.5, 0.9) * height)
        for row in range(int(rng.uniform(0, spacing)), height, spacing):
            paper[row: row + 2] *= (0.75, 0.8, 0.95)
    colour = np.array(rng.choice([(0.1, 0.1, 0.1), (0.1, 0.15, 0.5)]), np.float32)
    page = paper * (1 - ink[..., None]) + colour * ink[..., None]
    return photograph(page * lighting(height, width, rng, rng.random() < 0.3), rng)


def make_numbers(images: np.ndarray, labels: np.ndarray, count: int, seed: int,
                 lengths: tuple[int, ...] = LENGTHS) -> list[tuple[Image.Image, str]]:
    """`count` pictures of numbers composed from (images, labels), with their digits."""
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(count):
        ink, label = compose(images, labels, int(rng.choice(lengths)), rng)
        made.append((picture(ink, rng), label))
    return made
