"""Find the ink in a picture whatever its polarity and lighting.

`ink_image` flattens uneven light and shadows of a photo or scan into an ink-strength map,
`canvas_ink` measures a drawing against its canvas; `ink_polarity` and `border_polarity` tell
dark ink from light. `digitlab.images.segment` then finds the digit among the ink.
"""

import numpy as np
from PIL import Image
from scipy import ndimage

BACKGROUND_SIZE = 160  # long side at which the paper/board brightness is estimated
# Below this |skew| a picture does not say whether its ink is dark or light (seen on bold digits
# filling most of a photo; clear photos in the development and synthetic sets measured 0.003-0.5).
UNSURE_SKEW = 0.015


def ink_polarity(gray: np.ndarray) -> tuple[bool, bool]:
    """Polarity: is the ink darker than its paper (True) or lighter, like chalk (False)? And is
    the picture clear about it (False for a bold digit that fills most of it)?

    Returns:
        (dark_ink, sure)
    """
    skew = ink_skew(block_means(*padded_for_blocks(gray)))
    return skew <= 0, abs(skew) >= UNSURE_SKEW


def padded_for_blocks(image: np.ndarray) -> tuple[np.ndarray, int]:
    """The image padded (edge values) to whole blocks of the size that brings its long side
    to about BACKGROUND_SIZE, and that block size."""
    height, width = image.shape
    block = max(1, int(np.ceil(max(height, width) / BACKGROUND_SIZE)))
    return np.pad(image, ((0, (-height) % block), (0, (-width) % block)), mode="edge"), block


def ink_skew(small: np.ndarray) -> float:
    """The skew of the deviations from the local mean: negative for dark ink, positive for light.

    Ink is the minority near it: a few pixels far from the local mean, against many close to
    it, so the deviations from the local mean are skewed towards the ink's side. Two
    neighbourhood sizes (6% and 20% of the picture) suit thin and thick strokes. The middle of
    the picture, where the digit and its paper are, counts most; the border, where page edges
    and the table are, least.
    """
    height, width = small.shape
    weight = np.full(small.shape, 0.25)
    weight[height // 5: height - height // 5, width // 5: width - width // 5] = 1.0
    edge_y, edge_x = max(1, height // 12), max(1, width // 12)
    for part in (weight[:edge_y], weight[-edge_y:], weight[:, :edge_x], weight[:, -edge_x:]):
        part[...] = 0.05
    skew = 0.0
    for fraction in (0.06, 0.2):
        window = max(3, round(fraction * max(height, width)))
        deviation = (small - ndimage.uniform_filter(small, window, mode="nearest")).astype(
            np.float64).ravel()
        weighted_square = weight.ravel() * deviation * deviation
        skew += np.sum(weighted_square * deviation) / (weighted_square.sum() ** 1.5 + 1e-12)
    return float(skew)


def ink_image(gray: np.ndarray, color: np.ndarray | None = None, window: float = 0.2,
              dark_ink: bool | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """Ink strength per pixel, whatever the polarity, flattened against uneven light.

    Args:
        gray: (h, w) luminance in 0..1.
        color: the same picture as (h, w, 3) RGB, or None. Coloured ink is found by colour
            contrast: dark ink is measured in the darkest channel, light ink in the lightest,
            so faint blue ballpoint on white paper keeps the contrast the grey mix loses.
        window: the size, as a fraction of the picture, of the widest feature that counts as
            ink rather than light; a digit-sized picture needs more than a page.
        dark_ink: the polarity, when the caller knows it; else it is worked out.

    Returns:
        ink: (h, w) float32, 0 = background .. 1 = ink as far from the paper as black is;
        background: (h, w) the estimated paper/board brightness; dark_ink: the polarity found.
    """
    height, width = gray.shape
    if dark_ink is None:
        dark_ink = ink_polarity(gray)[0]
    if color is not None and color.ndim == 3 and color.shape[2] == 3:
        gray = color.min(axis=2) if dark_ink else color.max(axis=2)
    # Work at ~160 px: an opening there removes every feature narrower than `window` of the
    # picture (strokes, even thick ones) and keeps wide ones (shadows, paper edges, the table).
    padded, block = padded_for_blocks(1.0 - gray if dark_ink else gray)  # ink is bright
    value = padded[:height, :width]
    small = block_means(padded, block)
    size = (max(3, round(window * max(small.shape))),) * 2
    small = ndimage.grey_opening(small, size=size, mode="nearest")
    # Grow the brighter side of every step (shadow and table edges) by one cell: upsampling
    # would otherwise blur the step, and the blur would read as a line of ink along it.
    small = ndimage.grey_dilation(small, size=(3, 3), mode="nearest")
    background = np.asarray(Image.fromarray(small.astype(np.float32)).resize(
        (padded.shape[1], padded.shape[0]), Image.Resampling.BILINEAR))[:height, :width]
    # Weber contrast against the local paper brightness: the same ink under bright and dim light
    # gets the same strength.
    paper = np.maximum(1.0 - background, 0.05)
    ink = np.clip((value - background) / paper, 0.0, 1.0).astype(np.float32)
    background_gray = 1.0 - background if dark_ink else background
    return ink, background_gray.astype(np.float32), dark_ink


def block_means(image: np.ndarray, block: int) -> np.ndarray:
    """The mean of every `block` x `block` cell (the image's sides are multiples of `block`)."""
    return np.asarray(Image.fromarray(image.astype(np.float32)).reduce(block))


def border_colour(gray: np.ndarray) -> float:
    """The median of the outer band (a sixth of each side): the canvas or paper colour of a
    drawing or a digit-sized image, where a bold digit may cover much of the picture but
    rarely most of its border."""
    height, width = gray.shape
    band_y, band_x = max(1, height // 6), max(1, width // 6)
    return float(np.median(np.concatenate([
        gray[:band_y].ravel(), gray[-band_y:].ravel(), gray[:, :band_x].ravel(),
        gray[:, -band_x:].ravel()])))


def border_polarity(gray: np.ndarray) -> bool:
    """Is the ink of a digit-sized image dark? The ink is the extreme farther from the border's
    colour: the darkest pixels are ink on paper, the lightest a white brush on black."""
    darkest, lightest = np.percentile(gray, [1, 99])
    paper = border_colour(gray)
    return bool(paper - darkest >= lightest - paper)


def canvas_ink(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ink strength in a drawing: how far each pixel is from the canvas colour.

    A canvas has no lighting to flatten; its colour is `border_colour`.

    Returns:
        ink: (h, w) float32, 0 = canvas .. 1 = as far from it as possible; background: the canvas.
    """
    canvas = border_colour(gray)
    ink = np.abs(gray - canvas) / max(canvas, 1.0 - canvas, 1e-6)
    return ink.astype(np.float32), np.full(gray.shape, canvas, np.float32)
