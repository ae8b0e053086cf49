"""Turn images into what the models take: (n, 28, 28, 1) float32 in 0..1, white on black.

`scale_images` scales MNIST arrays. `prepare` turns a photo, scan or drawing of one digit into
the same thing, step by step as MNIST itself was made: find the ink whatever its polarity and
the lighting, keep the digit and drop the rest, bring its strokes into MNIST's range of widths
without changing its shape, fit it into 20x20 keeping the aspect ratio, and centre it by centre
of mass in 28x28.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

from digitlab.images import reading
from digitlab.images.ink import border_polarity, canvas_ink, ink_image, ink_polarity
from digitlab.images.segment import MIN_DIGIT_PIXELS, find_digit

BOX_SIZE = 20  # MNIST fitted every digit into 20x20 ...
FRAME_SIZE = 28  # ... and centred it by centre of mass in 28x28
STROKE_SCALE = 96  # long side, in pixels, at which stroke widths are measured and changed
# MNIST's stroke widths as a fraction of the digit's long side, measured by `stroke_width` on
# 3,000 training digits scaled to STROKE_SCALE (benchmarks/mnist_stroke_width.py): 10th
# percentile, median, 90th percentile.
THIN_STROKE, MEDIAN_STROKE, BOLD_STROKE = 0.088, 0.125, 0.168
DIGIT_SIZED = 64  # images up to this many pixels on their long side are the digit alone
DIGIT_SIZED_WINDOW = 0.45  # their light is flattened over features this wide (strokes are less)
EATEN = 0.5  # see `digit_sized_ink`; uneven light spans less of a small picture's contrast
# The thinner quarter of a digit's upright strokes (the 25th percentile of its rows' runs of
# ink), as a fraction of its height: the median over 300 MNIST validation digits as MNIST stores
# them; 0.12 and 0.18 scored within 0.3 points of it on the validation proxies (crops.py).
STRETCH_FREE = 0.15


def naive_input(path: str | Path | Image.Image, invert: bool = False) -> np.ndarray:
    """What most tutorials do: grayscale + resize to 28x28, in 0..1; optionally inverted when
    the picture is mostly light. The baseline the benchmarks compare `prepare` with."""
    with (path.copy() if isinstance(path, Image.Image) else Image.open(path)) as image:
        small = np.asarray(image.convert("L").resize((FRAME_SIZE, FRAME_SIZE)), np.float32) / 255
    return 1.0 - small if invert and small.mean() > 0.5 else small


@dataclass
class Prepared:
    """The model input made from one image, or the reason there is none."""

    model_input: np.ndarray | None  # (28, 28) float32 in 0..1, white on black
    reason: str | None = None  # why there is no model input, e.g. "no digit found: ..."
    steps: "OrderedDict[str, np.ndarray]" = field(default_factory=OrderedDict)
    # Other readings of an ambiguous image (the ink's polarity), for the model to weigh.
    alternatives: list[np.ndarray] = field(default_factory=list)
    box: list[int] | None = None  # where the digit stands: x0, y0, x1, y1 in image pixels
    # True: the readings are equally likely (a digit-sized image, whose border the digit may
    # cover); False: the first follows the picture's evidence (its ink's skew).
    readings_even: bool = False


def stroke_width(shape: np.ndarray) -> float:
    """The typical stroke width of a binary digit, in pixels: twice the median distance from
    its centre lines to the background."""
    depth = ndimage.distance_transform_edt(shape)
    centre = skeletonize(shape)
    return 2.0 * float(np.median(depth[centre])) if centre.any() else 0.0


def digit_ink(ink: np.ndarray, digit: np.ndarray) -> np.ndarray:
    """The digit's ink alone, cropped and scaled to STROKE_SCALE pixels on its long side, with a
    margin: (h, w) float32 in 0..1, 1 for the digit's darkest ink. Other marks are dropped; the
    soft edges around the digit mask stay, and faint strokes inside it count at least half."""
    rows, columns = np.nonzero(digit)
    box = (slice(rows.min(), rows.max() + 1), slice(columns.min(), columns.max() + 1))
    inside = digit[box]
    near = ndimage.binary_dilation(inside, iterations=1)
    edges = np.clip(ink[box] / max(float(np.percentile(ink[box][inside], 90)), 1e-6), 0.0, 1.0)
    soft = np.where(inside, np.maximum(edges, 0.5), np.where(near, edges, 0.0)).astype(np.float32)
    scale = STROKE_SCALE / max(soft.shape)
    size = (max(1, round(soft.shape[1] * scale)), max(1, round(soft.shape[0] * scale)))
    if scale < 1:
        # Widen hairlines to a pixel of the smaller image first, so averaging cannot erase them.
        soft = ndimage.grey_dilation(soft, size=max(1, int(1 / scale)))
        resized = np.asarray(Image.fromarray(soft).resize(size, Image.Resampling.BOX))
    else:
        resized = np.asarray(Image.fromarray(soft).resize(size, Image.Resampling.BILINEAR))
    # A margin wide enough for the thickest growth `normalise_strokes` can apply.
    return np.pad(resized, round(MEDIAN_STROKE * STROKE_SCALE / 2) + 2)


def row_runs(mask: np.ndarray) -> np.ndarray:
    """The lengths of the runs of True in every row of a binary mask, in pixels."""
    steps = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    return np.flatnonzero(steps.ravel() == -1) - np.flatnonzero(steps.ravel() == 1)


def unstretch(ink: np.ndarray, digit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undo the stretch of a digit that fills its whole image, as forms and postal scans store
    digits stretched to fill their box: a 1 becomes a block, a 0 a circle.

    Stretching widens the upright strokes and leaves the height alone, so the stretch shows as
    upright strokes wider, against the digit's height, than MNIST's (their thinner quarter is
    STRETCH_FREE of the height in MNIST digits); the ink is squeezed back by that much. A digit
    that leaves a margin on any side, or with upright strokes as thin as MNIST's, is kept.

    Returns:
        (ink, digit), squeezed sideways or as they were.
    """
    rows, columns = np.nonzero(digit)
    height, width = digit.shape
    if rows.min() > 0 or columns.min() > 0 or rows.max() < height - 1 or columns.max() < width - 1:
        return ink, digit
    stretch = float(np.percentile(row_runs(digit), 25)) / (STRETCH_FREE * height)
    if stretch <= 1:
        return ink, digit
    size = (max(1, round(width / stretch)), height)
    squeezed = np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.BOX))
    mask = np.asarray(Image.fromarray(digit.astype(np.float32)).resize(size,
                                                                      Image.Resampling.BOX))
    return squeezed, mask >= 0.5


def normalise_strokes(soft: np.ndarray) -> np.ndarray:
    """Bring the stroke width into MNIST's range, keeping the digit's shape.

    Strokes thinner than MNIST's thin ones (a pen on a big photo) are thickened to MNIST's
    median width by growing the shape; strokes bolder than its bold ones (a marker, a paint
    brush) are thinned to that bound by shrinking it; anything in between is left as it is, grey
    levels and all (a 28x28 MNIST-like drawing passes through). Unlike thinning every digit to
    its centre lines and redrawing them, a bold or filled digit cannot collapse into a line.

    Args:
        soft: from `digit_ink`.

    Returns:
        (h, w) float32 in 0..1, anti-aliased, the digit at about STROKE_SCALE pixels.
    """
    # Close small gaps and holes (chalk grain, pen skips) before measuring.
    shape = ndimage.binary_closing(soft > 0.4, iterations=1)
    width = stroke_width(shape) / STROKE_SCALE
    if width < THIN_STROKE:
        grow = (MEDIAN_STROKE - width) * STROKE_SCALE / 2
        return np.clip(grow + 0.5 - ndimage.distance_transform_edt(~shape), 0, 1).astype(
            np.float32)
    if width > BOLD_STROKE:
        # Shrink the outline; the centre lines, drawn at MNIST's thinnest width, keep every
        # part that shrinking would erase (where strokes narrow or meet).
        shrink = (width - BOLD_STROKE) * STROKE_SCALE / 2
        body = np.clip(ndimage.distance_transform_edt(shape) - shrink, 0, 1)
        radius = THIN_STROKE * STROKE_SCALE / 2
        lines = np.clip(radius + 0.5 - ndimage.distance_transform_edt(~skeletonize(shape)), 0, 1)
        return np.maximum(body, lines).astype(np.float32)
    return soft


def ink_crop(strokes: np.ndarray) -> np.ndarray:
    """Prepared strokes cropped to their ink."""
    rows, columns = np.nonzero(strokes > 0.01)
    return strokes[rows.min(): rows.max() + 1, columns.min(): columns.max() + 1]


def scaled(crop: np.ndarray, scale: float,
           resample: Image.Resampling = Image.Resampling.BOX) -> np.ndarray:
    """`crop` resized by `scale` (at least a pixel a side), its strongest ink made 1."""
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    box = np.asarray(Image.fromarray(crop).resize(size, resample), np.float32)
    return box / max(float(box.max()), 1e-6)


def fit_and_centre(strokes: np.ndarray,
                   resample: Image.Resampling = Image.Resampling.BOX) -> np.ndarray:
    """Fit into 20x20 keeping the aspect ratio (anti-aliased), centre by mass in 28x28.

    BOX averages the pixels each output pixel covers, right for shrinking; enlarging a tiny
    image (8x8) wants an interpolating `resample` instead.
    """
    crop = ink_crop(strokes)
    box = scaled(crop, BOX_SIZE / max(crop.shape), resample)
    centre_y, centre_x = ndimage.center_of_mass(box)
    half = (FRAME_SIZE - 1) / 2
    top = int(np.clip(round(half - centre_y), 0, FRAME_SIZE - box.shape[0]))
    left = int(np.clip(round(half - centre_x), 0, FRAME_SIZE - box.shape[1]))
    frame = np.zeros((FRAME_SIZE, FRAME_SIZE), np.float32)
    frame[top: top + box.shape[0], left: left + box.shape[1]] = box
    return np.clip(frame, 0.0, 1.0)


def digit_sized_ink(gray: np.ndarray, color: np.ndarray | None, dark_ink: bool
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The ink of a digit-sized image, its light flattened over DIGIT_SIZED_WINDOW; but where
    the estimated paper spans more than EATEN of the picture's contrast, the flattening took a
    digit that fills most of the image (one stretched to fill its box) for light, and its paper
    is taken to be even.

    Returns:
        (ink, background), as `ink_image` gives them.
    """
    ink, background, _ = ink_image(gray, color, DIGIT_SIZED_WINDOW, dark_ink)
    darkest, lightest = np.percentile(gray, [1, 99])
    if np.ptp(background) > EATEN * max(float(lightest - darkest), 1e-6):
        ink, background, _ = ink_image(gray, color, 1.0, dark_ink)
    return ink, background


def prepare(image: reading.ImageSource, return_steps: bool = False) -> Prepared:
    """Turn one image of a single digit into the model input, MNIST-style.

    Args:
        image: a path, bytes, PIL image or NumPy array; any mode, any size.
        return_steps: also return every intermediate image (for display), in order.

    Returns:
        Prepared: `model_input` (28, 28) float32 in 0..1 white on black, or None with a
        `reason` when no digit is found; `alternatives` when the image can be read two ways;
        `steps` (of the first reading) when asked for.

    Raises:
        ImageError: the image cannot be read, or is empty or too large.
    """
    gray, color, drawing = reading.load(image, with_color=return_steps)
    steps: OrderedDict[str, np.ndarray] = OrderedDict()
    if return_steps and color is not None:
        steps["input"] = np.squeeze(color)
        steps["grayscale"] = gray
    # A digit needs MIN_DIGIT_PIXELS a side; but a digit-sized image may be a crop to the
    # digit's own box, and a 1 cropped so may be 2 pixels wide.
    least = 2 if max(gray.shape) <= DIGIT_SIZED else MIN_DIGIT_PIXELS
    if max(gray.shape) < MIN_DIGIT_PIXELS or min(gray.shape) < least:
        return Prepared(None, f"no digit found: the image is only {gray.shape[1]}x"
                              f"{gray.shape[0]} pixels", steps)
    # A digit-sized image (a 28x28 paint canvas, a photo already cut down to the digit) holds
    # the digit alone, often touching its edges: like a drawing, it has no page edges or lines
    # to clean up, but it may have uneven light; its border tells the polarity.
    canvas = drawing or max(gray.shape) <= DIGIT_SIZED
    if drawing:
        hypotheses = [canvas_ink(gray)]
    elif canvas:
        # Its border tells the polarity, unless the digit covers much of the border (a digit
        # stretched to fill its box, a bold 1 cropped to it): both polarities are read, the
        # border's first, and `Predictor` keeps the more digit-like reading (`readings_even`).
        dark_ink = border_polarity(gray)
        hypotheses = [digit_sized_ink(gray, color, polarity)
                      for polarity in (dark_ink, not dark_ink)]
    else:
        # When the picture cannot tell dark ink from light (a bold digit filling it), both are
        # tried; `Predictor` keeps the other reading only when the digit check is convinced.
        dark_ink, sure = ink_polarity(gray)
        hypotheses = [ink_image(gray, color, dark_ink=polarity)[:2]
                      for polarity in ([dark_ink] if sure else [dark_ink, not dark_ink])]
    model_inputs, reason, box = [], None, None
    for number, (ink, background) in enumerate(hypotheses):
        digit, why, shown = find_digit(ink, canvas)
        if digit is not None and box is None:
            box = image_box(digit, image)
        if return_steps and number == 0:
            steps["background"] = background
            steps["ink"] = ink
            steps["digit mask"] = shown / 2.0
        if digit is None:
            reason = reason or why
            continue
        if canvas:
            ink, digit = unstretch(ink, digit)
        strokes = normalise_strokes(digit_ink(ink, digit))
        model_inputs.append(fit_and_centre(strokes))
        if return_steps and "model input" not in steps:
            rows, columns = np.nonzero(digit)
            steps["cropped ink"] = ink[rows.min(): rows.max() + 1, columns.min(): columns.max() + 1]
            steps["strokes normalised"] = strokes
            steps["model input"] = model_inputs[0]
    if not model_inputs:
        return Prepared(None, reason, steps)
    return Prepared(model_inputs[0], None, steps, model_inputs[1:], box, readings_even=canvas)


def image_box(mask: np.ndarray, image: reading.ImageSource) -> list[int]:
    """The box around a mask found in the working-size picture, in the image's own pixels:
    x0, y0, x1, y1 (x1 and y1 exclusive)."""
    rows, columns = np.nonzero(mask)
    side = reading.long_side(image)
    scale = side / max(mask.shape) if side else 1.0
    return [round(columns.min() * scale), round(rows.min() * scale),
            round((columns.max() + 1) * scale), round((rows.max() + 1) * scale)]
