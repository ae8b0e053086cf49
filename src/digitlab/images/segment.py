"""Find the digit among the ink: keep its pieces, drop specks, shadows and the marks that are
not writing (`digitlab.images.marks`: ruled lines, page edges, frames), grow it into the fainter
ink joined to it, and tell a number (several digits side by side) from one digit.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

from digitlab.images.marks import is_edge, is_straight, remove_frame, remove_long_lines

MIN_CONTRAST = 0.12  # weaker ink than this (fraction of the paper brightness) is no digit
FAINT = 0.5  # ink this fraction of the digit's threshold is kept where it joins the digit
SMALL_IMAGE = 100  # long side, in pixels, up to which ink is not smoothed
SEVERAL_DIGITS = "several digits"  # the reason given for a number
# Pieces at least DIGIT_TALL of the digit's height, on its line, count as digits of a number when
# they stand side by side over more than NUMBER_WIDE times that height: the parts of one digit
# written apart are not both that tall (a 4's upright and its body), or stand narrower (a 0 of
# two arcs); two digits side by side, even a 1 beside a 7, are wider. Checked on the generator's
# numbers (85 of 90 found; two 1s are too narrow) and for no false alarm on the development set,
# the synthetic set and the 5,000 MNIST validation digits.
DIGIT_TALL, NUMBER_WIDE = 0.5, 0.9
# Noise whose floor (5 sd) would hide ink half as strong as black is no paper's noise.
INKY_NOISE = 0.1
NORMAL_2_TO_10 = 0.77  # from the 2nd to the 10th percentile of a normal distribution, in sds
MAD_TO_SD = 1.4826  # a normal distribution's standard deviation over its median abs. deviation

# The rules below were set by hand on the synthetic set (`digitlab.images.synth`) and the real
# development set, and hold for the MNIST digits passing through unchanged
# (benchmarks/mnist_passthrough.py); each says what it stands for.
NOISE_SDS, NOISE_MARGIN = 5, 0.03  # ink starts this many noise sds (plus a margin) above paper
INK_SHARE = 0.5  # the digit's threshold: this share of its strongest ink (99th percentile)
JOIN_REACH = 150  # pieces within the long side / this are one: a 5's detached bar
SPECK_AREA = 0.02  # pieces below this share of the largest one's area are specks
FAINTER = 0.6  # pieces whose mean ink is below this share of the darkest piece's: shadows, rules
OFF_CENTRE = 0.8  # a piece at the corner weighs this much less than one at the centre
STRAIGHT_WEIGHT = 0.3  # on paper, a long straight piece weighs this much: an edge, a rule
LONG_PIECE = 0.1  # a straight piece counts as long above this share of the image's long side
SPECK_SIZE = 0.04  # a digit's extent is at least this share of the image's long side
MIN_DIGIT_PIXELS = 8  # ... and at least this many pixels: no smaller digit can be read
THIN_LINE = 0.4  # a straight piece thinner than this share of the digit's stroke: a rule
RUNS_PAST = 0.5  # a straight piece running this share of the digit's size past it: a rule
NEAR = 0.25  # pieces within this share of the digit's size from it belong to it
MINOR_SCORE = 0.03  # pieces scoring below this share of the digit's are not digits
LINE_TALLER = 1.5  # a straight piece this much taller than the digit is a line, not a digit


def mean_width(mask: np.ndarray) -> float:
    """The mean stroke width of a binary mask, in pixels: its area over its centre lines."""
    return float(mask.sum()) / max(1, int(skeletonize(mask).sum()))


def grow_faint(digit: np.ndarray, faint: np.ndarray, drawing: bool) -> np.ndarray:
    """Add the fainter ink joined to the digit (a light ballpoint stroke, a pen lifting off);
    `faint` holds it, without lines or frames.

    Only within the digit's box widened by half (a 5 may be found without its bar); on paper,
    only when what it adds is drawn with strokes no more than twice as wide as the digit's: a
    shadow or a paper edge joined to it is a wide patch, not a stroke. A canvas has neither.
    """
    rows, columns = np.nonzero(digit)
    margin = max(np.ptp(rows), np.ptp(columns)) // 2 + 1
    box = (slice(max(0, rows.min() - margin), rows.max() + 1 + margin),
           slice(max(0, columns.min() - margin), columns.max() + 1 + margin))
    grown = ndimage.binary_propagation(digit[box], mask=faint[box] | digit[box])
    added = grown & ~digit[box]
    if not added.any() or (not drawing and mean_width(added) > 2 * mean_width(digit[box])):
        return digit
    result = digit.copy()
    result[box] = grown
    return result


def paper_noise(ink: np.ndarray, crowded: bool) -> float:
    """The paper's noise in an ink map, as a standard deviation: from the median absolute
    deviation, which assumes the paper is most of the picture. In a `crowded` one (a digit cropped
    to its box, even stretched to fill it, may be nine tenths ink) where that is above INKY_NOISE,
    it measured the ink: the noise is then also taken from the spread of the faintest tenth,
    where only paper is, and the smaller counts (not always: clipped at 0, that spread
    understates a photo's noise)."""
    noise = MAD_TO_SD * float(np.median(np.abs(ink - np.median(ink))))
    if crowded and noise > INKY_NOISE:
        faintest, tenth = np.percentile(ink, [2, 10])
        noise = min(noise, float(tenth - faintest) / NORMAL_2_TO_10)
    return noise


def column_heights(boxes: list[tuple[slice, slice]]) -> list[int]:
    """The height of each column of ink: boxes that overlap sideways, one above the other,
    make one column (a digit written in pieces)."""
    columns: list[list[int]] = []  # top, bottom, right
    for rows, cols in sorted(boxes, key=lambda box: box[1].start):
        if columns and cols.start < columns[-1][2]:
            column = columns[-1]
            column[:] = min(column[0], rows.start), max(column[1], rows.stop), max(column[2],
                                                                                   cols.stop)
        else:
            columns.append([rows.start, rows.stop, cols.stop])
    return [bottom - top for top, bottom, _ in columns]


def several_digits(boxes: list[tuple[slice, slice]], rows: tuple[int, int]) -> bool:
    """Do `boxes` (of pieces of ink) hold digits side by side on the line of `rows` (the
    digit's top and bottom), as in a number?

    The digit's height is that of `rows`, or of the tallest column of ink if shorter: where the
    digits of a slanting number were taken as one, their rows span more than any digit."""
    top, bottom = rows
    height = min(bottom - top, max(column_heights(boxes), default=bottom - top))
    tall = sorted((box for box in boxes if box[0].stop - box[0].start >= DIGIT_TALL * height
                   and min(box[0].stop, bottom) - max(box[0].start, top)
                   >= DIGIT_TALL * (box[0].stop - box[0].start)), key=lambda box: box[1].start)
    if len(tall) < 2:
        return False
    columns, reach = 1, tall[0][1].stop
    for box in tall[1:]:  # pieces that do not overlap sideways stand side by side
        if box[1].start >= reach:
            columns += 1
        reach = max(reach, box[1].stop)
    width = max(box[1].stop for box in tall) - tall[0][1].start
    return columns >= 2 and width > NUMBER_WIDE * height


def extent(box: tuple[slice, slice]) -> int:
    """The longer side of a box, in pixels."""
    return max(box[0].stop - box[0].start, box[1].stop - box[1].start)


@dataclass
class Pieces:
    """The pieces of ink that may be the digit, strongest first."""

    labels: np.ndarray  # each pixel's piece number, 0 for none
    candidates: list[tuple[float, int, tuple[slice, slice], bool]]  # score, number, box, straight
    area: np.ndarray  # each piece's pixels (piece n at index n - 1)


def find_pieces(smooth: np.ndarray, mask: np.ndarray, drawing: bool
                ) -> tuple[Pieces | None, str | None]:
    """Label the ink of `mask`, drop page edges and pieces much fainter than the digit's ink,
    and score the rest by their ink, nearness to the centre and (on paper) straightness.
    Returns (pieces, None), or (None, why there is no digit)."""
    shape = mask.shape
    # Join fragments (a 5's detached bar, broken chalk) before counting components.
    reach = max(1, round(max(shape) / JOIN_REACH))
    labels, count = ndimage.label(ndimage.maximum_filter(mask, size=2 * reach + 1))
    labels[~mask] = 0
    if count == 0:
        return None, "no digit found: only lines or page edges"
    boxes = ndimage.find_objects(labels)
    numbers = labels[mask]  # only the ink's pixels: far fewer than the picture's
    mass = np.bincount(numbers, weights=smooth[mask], minlength=count + 1)[1:]
    area = np.bincount(numbers, minlength=count + 1)[1:]
    mean_ink = mass / np.maximum(area, 1)
    border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    contact = np.bincount(border, minlength=count + 1)
    kept = [(number, box) for number, box in enumerate(boxes, start=1) if box is not None
            and (drawing or not is_edge(labels[box] == number, box, shape, contact[number]))]
    if not kept:
        return None, "no digit found: only lines or page edges touching the border"
    # Shadows, ruled lines, a margin are much fainter than the digit's ink: the darkest of the
    # remaining pieces that are not mere specks.
    largest = max(area[number - 1] for number, _ in kept)
    best_ink = max(mean_ink[number - 1] for number, _ in kept
                   if area[number - 1] >= SPECK_AREA * largest)
    candidates = []
    for number, box in kept:
        if mean_ink[number - 1] < FAINTER * best_ink:
            continue
        centre_y = (box[0].start + box[0].stop) / 2 / shape[0] - 0.5
        centre_x = (box[1].start + box[1].stop) / 2 / shape[1] - 0.5
        weight = 1.0 - OFF_CENTRE * min(1.0, np.hypot(centre_y, centre_x))
        # On paper, a long straight line is more likely an edge or a rule than a digit (a 1
        # still wins when it is all there is).
        straight = (not drawing and extent(box) > LONG_PIECE * max(shape)
                    and is_straight(labels[box] == number))
        candidates.append((mass[number - 1] * weight * (STRAIGHT_WEIGHT if straight else 1.0),
                           number, box, straight))
    if not candidates:
        return None, "no digit found: only faint marks"
    candidates.sort(key=lambda item: -item[0])
    return Pieces(labels, candidates, area), None


def group_digit(pieces: Pieces) -> tuple[list[int], tuple[int, int, int, int]]:
    """The strongest piece and the pieces near it that carry real ink, not ruled lines.
    Returns (their numbers, their box: top, bottom, left, right)."""
    labels, candidates, area = pieces.labels, pieces.candidates, pieces.area
    main_score, main_index, main_box, _ = candidates[0]
    chosen = [main_index]
    stroke = 0.0  # the digit's stroke width, measured only when a straight piece needs it
    if any(straight for *_, straight in candidates[1:]):
        # Twice the typical distance from its centre lines to the paper.
        depth = ndimage.distance_transform_edt(labels[main_box] == main_index)
        stroke = 2 * float(np.percentile(depth[depth > 0], 90))
    top, bottom, left, right = main_box[0].start, main_box[0].stop, main_box[1].start, \
        main_box[1].stop
    changed = True
    while changed:  # grow the group with nearby pieces that carry real ink
        changed = False
        size = max(bottom - top, right - left)
        for score, index, box, straight in candidates[1:]:
            # Straight pieces much thinner than the digit's strokes, or longer than the digit
            # and running past it at both ends, are ruled lines, margins and edges; a 4's
            # upright written apart may be longer than the rest, but ends near it.
            thin = straight and area[index - 1] / extent(box) < THIN_LINE * stroke
            axis = 0 if box[0].stop - box[0].start >= box[1].stop - box[1].start else 1
            start, stop = (top, bottom) if axis == 0 else (left, right)
            past = min(start - box[axis].start, box[axis].stop - stop)
            line = straight and extent(box) > size and past > RUNS_PAST * size
            if index in chosen or score < MINOR_SCORE * main_score or line or thin:
                continue
            gap_y = max(box[0].start - bottom, top - box[0].stop, 0)
            gap_x = max(box[1].start - right, left - box[1].stop, 0)
            if max(gap_y, gap_x) <= NEAR * size:
                chosen.append(index)
                top, bottom = min(top, box[0].start), max(bottom, box[0].stop)
                left, right = min(left, box[1].start), max(right, box[1].stop)
                changed = True
    return chosen, (top, bottom, left, right)


def find_digit(ink: np.ndarray, drawing: bool = False
               ) -> tuple[np.ndarray | None, str | None, np.ndarray]:
    """Threshold the ink, drop specks, lines and page edges, keep the digit's components.

    Args:
        ink: from `ink_image` (photos, scans) or `canvas_ink` (drawings).
        drawing: a drawing on a transparent canvas, or a digit-sized image, has no paper:
            nothing in it is a page edge or a ruled line, so a 1 drawn from edge to edge is
            kept (only a frame around the whole canvas is dropped); and its ink may crowd it
            (`paper_noise`).

    Returns:
        (digit mask or None, reason or None, a map 0 background / 1 dropped / 2 kept); the
        reason is SEVERAL_DIGITS when the digit stands in a row of others (a number).
    """
    small = max(ink.shape) <= SMALL_IMAGE
    # A 3x3 mean tames sensor noise and keeps hairlines; in a small image a pixel is a good part
    # of a stroke's width, and the mean would smear a bold digit over the background.
    smooth = ink if small else ndimage.uniform_filter(ink, 3)
    shown = np.zeros(ink.shape, np.uint8)
    sample = smooth if small else smooth[::3, ::3]  # a subsample is plenty, and 9x faster
    floor = max(MIN_CONTRAST, NOISE_SDS * paper_noise(sample, drawing) + NOISE_MARGIN)
    strong = smooth[smooth > floor]
    if strong.size < 4:
        return None, "no digit found: the image is blank (no ink darker than its paper)", shown
    threshold = max(floor, INK_SHARE * float(np.percentile(strong, 99)))
    mask = smooth > threshold
    shown[mask] = 1
    mask = remove_frame(mask) if drawing else remove_long_lines(mask)
    pieces, reason = find_pieces(smooth, mask, drawing)
    if pieces is None:
        return None, reason, shown
    if extent(pieces.candidates[0][2]) < SPECK_SIZE * max(ink.shape):
        return None, "no digit found: only specks", shown
    chosen, (top, bottom, left, right) = group_digit(pieces)
    # Thresholded noise leaves specks of every size; a few pixels are no digit.
    if max(bottom - top, right - left) < MIN_DIGIT_PIXELS:
        return None, "no digit found: only specks", shown
    # The other digits of a number: pieces with real ink, but no straight line much longer than
    # the digit is tall (a margin, a rule; a 1 may be a little taller than its neighbours).
    main_score, height = pieces.candidates[0][0], bottom - top
    others = {index: box for score, index, box, straight in pieces.candidates if index in chosen
              or (score >= MINOR_SCORE * main_score
                  and not (straight and extent(box) > LINE_TALLER * height))}
    if several_digits(list(others.values()), (top, bottom)):
        shown[np.isin(pieces.labels, list(others))] = 2
        return None, SEVERAL_DIGITS, shown
    faint = smooth > max(floor, FAINT * threshold)
    faint = remove_frame(faint) if drawing else remove_long_lines(faint)
    digit = grow_faint(np.isin(pieces.labels, chosen), faint, drawing)
    if digit.sum() < 3:
        return None, "no digit found: only specks", shown
    shown[digit] = 2
    return digit, None, shown
