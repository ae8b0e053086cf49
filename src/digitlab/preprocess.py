"""Turn images into what the models take: (n, 28, 28, 1) float32 in 0..1, white on black.

`scale_images` scales MNIST arrays. `prepare` turns a photo, scan or drawing of one digit into
the same thing, step by step as MNIST itself was made: find the ink whatever its polarity and
the lighting, keep the digit and drop the rest, draw its strokes at MNIST's width, fit it into
20x20 keeping the aspect ratio, and centre it by centre of mass in 28x28.
"""

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

from digitlab import images
from digitlab.ink import canvas_ink, find_digit, ink_image

BOX_SIZE = 20  # MNIST fitted every digit into 20x20 ...
FRAME_SIZE = 28  # ... and centred it by centre of mass in 28x28
STROKE_SCALE = 96  # long side, in pixels, at which strokes are thinned and redrawn
# MNIST strokes (pixels above 127) are ~2.85 px wide in a 20 px digit. Drawn at this fraction
# of the digit's size, ours measure the same after anti-aliasing (see tests).
STROKE_WIDTH = 0.115


def scale_images(images: np.ndarray) -> np.ndarray:
    """Scale uint8 MNIST-style images to the model input.

    Args:
        images: (n, 28, 28) or (n, 28, 28, 1), uint8 in 0..255.

    Returns:
        (n, 28, 28, 1) float32 in 0..1.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(f"Expected images of shape (n, 28, 28) or (n, 28, 28, 1), "
                         f"got {images.shape}.")
    return images.astype(np.float32) / 255.0


@dataclass
class Prepared:
    """The model input made from one image, or the reason there is none."""

    model_input: np.ndarray | None  # (28, 28) float32 in 0..1, white on black
    reason: str | None = None  # why there is no model input, e.g. "no digit found: ..."
    steps: "OrderedDict[str, np.ndarray]" = field(default_factory=OrderedDict)


def redraw_strokes(digit: np.ndarray) -> np.ndarray:
    """Thin the digit to its centre lines and redraw them at MNIST's stroke width.

    A hairline pen, a marker, a mouse and chalk all come out the same.

    Returns:
        (h, w) float32 in 0..1, the digit at about STROKE_SCALE pixels on its long side.
    """
    rows, columns = np.nonzero(digit)
    crop = digit[rows.min(): rows.max() + 1, columns.min(): columns.max() + 1]
    scale = STROKE_SCALE / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = np.asarray(Image.fromarray(crop.astype(np.float32)).resize(size, resample))
    shape = resized > (0.3 if scale < 1 else 0.5)
    margin = STROKE_SCALE // 4
    shape = np.pad(shape, margin)
    # Close small gaps and holes (chalk grain, pen skips) before thinning.
    shape = ndimage.binary_closing(shape, iterations=1)
    skeleton = skeletonize(shape)
    if not skeleton.any():
        skeleton = shape
    radius = STROKE_WIDTH / (1 - STROKE_WIDTH) * STROKE_SCALE / 2
    distance = ndimage.distance_transform_edt(~skeleton)
    return np.clip(radius + 0.5 - distance, 0.0, 1.0).astype(np.float32)


def fit_and_centre(strokes: np.ndarray) -> np.ndarray:
    """Fit into 20x20 keeping the aspect ratio (anti-aliased), centre by mass in 28x28."""
    rows, columns = np.nonzero(strokes > 0.01)
    crop = strokes[rows.min(): rows.max() + 1, columns.min(): columns.max() + 1]
    scale = BOX_SIZE / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    box = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BOX), np.float32)
    box = box / max(float(box.max()), 1e-6)
    centre_y, centre_x = ndimage.center_of_mass(box)
    half = (FRAME_SIZE - 1) / 2
    top = int(np.clip(round(half - centre_y), 0, FRAME_SIZE - box.shape[0]))
    left = int(np.clip(round(half - centre_x), 0, FRAME_SIZE - box.shape[1]))
    frame = np.zeros((FRAME_SIZE, FRAME_SIZE), np.float32)
    frame[top: top + box.shape[0], left: left + box.shape[1]] = box
    return np.clip(frame, 0.0, 1.0)


def prepare(image: images.ImageSource, return_steps: bool = False) -> Prepared:
    """Turn one image of a single digit into the model input, MNIST-style.

    Args:
        image: a path, bytes, PIL image or NumPy array; any mode, any size.
        return_steps: also return every intermediate image (for display), in order.

    Returns:
        Prepared: `model_input` (28, 28) float32 in 0..1 white on black, or None with a
        `reason` when no digit is found; `steps` when asked for.

    Raises:
        ImageError: the image cannot be read, or is empty or too large.
    """
    gray, color, drawing = images.load(image, with_color=return_steps)
    steps = OrderedDict()
    if return_steps:
        steps["input"] = np.squeeze(color)
        steps["grayscale"] = gray
    if min(gray.shape) < 8:
        return Prepared(None, f"no digit found: the image is only {gray.shape[1]}x"
                              f"{gray.shape[0]} pixels", steps)
    ink, background = canvas_ink(gray) if drawing else ink_image(gray)[:2]
    digit, reason, shown = find_digit(ink, drawing)
    if return_steps:
        steps["background"] = background
        steps["ink"] = ink
        steps["digit mask"] = shown / 2.0
    if digit is None:
        return Prepared(None, reason, steps)
    strokes = redraw_strokes(digit)
    model_input = fit_and_centre(strokes)
    if return_steps:
        rows, columns = np.nonzero(digit)
        steps["cropped ink"] = ink[rows.min(): rows.max() + 1, columns.min(): columns.max() + 1]
        steps["strokes redrawn"] = strokes
        steps["model input"] = model_input
    return Prepared(model_input, None, steps)
