"""Where the digits of handwritten numbers stand: the ink's pieces, grouped into lines (top to
bottom) and, within a line, into digit candidates (left to right), with separators and marks
that are not digits (`.` `,` `-`, underlines, ruled lines) left out, and the places where a
candidate too wide for one digit (touching digits) may be cut.

The reader (`digitlab.numbers.read`) classifies the candidates and chooses among the cuts.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from digitlab.images import reading
from digitlab.images.ink import canvas_ink, ink_image, ink_polarity
from digitlab.images.marks import in_long_runs, is_edge, remove_frame, remove_long_lines
from digitlab.images.segment import (
    INK_SHARE,
    MIN_CONTRAST,
    NOISE_MARGIN,
    NOISE_SDS,
    SMALL_IMAGE,
    paper_noise,
)

Box = tuple[int, int, int, int]  # top, bottom, left, right (bottom and right exclusive)
# Set by hand on numbers the generator writes (`handwriting.draw_number`) and MNIST digits set
# side by side; each says what it stands for.
LIGHTER = 0.7  # a number's ink threshold, as a share of one digit's (`segment.INK_SHARE`)
FAINT_PIECE = 0.4  # pieces fainter than this share of the darkest digit's ink: shadows
SPECK = 0.15  # pieces shorter than this share of the line's height, and as narrow, are specks
SEPARATOR = 0.45  # pieces shorter than this share of the line's height: . , - (not digits)
# A piece whose ink runs this many times deeper than the writing's (`writing_depth`) is a shadow,
# a smudge or a thing beside the paper, not writing.
BLOT = 3.0
SAME_LINE = 0.5  # pieces overlapping a line by this share of the shorter height are on it
SAME_DIGIT = 0.6  # pieces one above the other, overlapping sideways this much, are one digit
NARROW = 0.6  # a candidate narrower than this times the line's height is one digit,
WIDE = 1.0  # one wider than this may be touching digits even when it reads well as one
MAX_DIGITS_IN_ONE = 4  # the most digits one candidate is cut into
NUMBER_GAP = 1.5  # a gap this many digit heights wide parts two numbers on one line,
SPACING = 3.0  # when it is also this many times the line's usual gap between digits
UNDERLINE = 0.5  # a thin straight line across this share of the picture is no digit
# A piece flatter than SEPARATOR line heights and longer than this many is an underline or a
# strike-through under part of a number (a 5's bar or a 7's is shorter than one).
UNDERLINE_LENGTH = 1.5
SLANT = 40  # degrees: lines of writing may rise or fall this much (a photo taken askew)
UNDERLINE_SLANTS = np.arange(-6.0, 6.1, 1.0)  # degrees: underlines askew in a photo


@dataclass
class Candidate:
    """Ink that may be one digit (or, when `cuts` is not empty, several touching ones)."""

    box: Box
    mask: np.ndarray  # the candidate's ink within `box` (bool)
    cuts: list[int]  # columns within the box where it may be cut, best first
    wide: bool = False  # wider than WIDE line heights: cut even when it reads well as one digit


def ink_map(source: reading.ImageSource) -> tuple[np.ndarray, bool]:
    """The picture's ink strength (0..1, paper flattened, either polarity) and whether it is a
    drawing on a transparent canvas."""
    gray, color, drawing = reading.load(source)
    if drawing:
        return canvas_ink(gray)[0], True
    dark_ink, _ = ink_polarity(gray)
    return ink_image(gray, color, dark_ink=dark_ink)[0], False


def ink_mask(ink: np.ndarray, drawing: bool) -> np.ndarray:
    """The ink that is writing: above the paper's noise and half the writing's strongest ink
    (as `segment.find_digit` thresholds it), without page edges, ruled lines, underlines or a
    frame."""
    smooth = ink if max(ink.shape) <= SMALL_IMAGE else ndimage.uniform_filter(ink, 3)
    floor = max(MIN_CONTRAST, NOISE_SDS * paper_noise(smooth[::3, ::3], drawing) + NOISE_MARGIN)
    strong = smooth[smooth > floor]
    if strong.size < 4:
        return np.zeros(ink.shape, bool)
    # Below `find_digit`'s threshold: one digit of a number may be written more lightly than
    # the others (less pressure); `pieces` then drops what is much fainter than the digits.
    mask = smooth > max(floor, LIGHTER * INK_SHARE * float(np.percentile(strong, 99)))
    if drawing:
        return remove_frame(mask)
    # Measured again without the page's edges and the table around the paper: their dark
    # would otherwise set the threshold, and pencil on a photographed page would vanish.
    writing = mask & ~edge_pieces(mask)
    if writing.any():
        strongest = float(np.percentile(smooth[writing], 99))
        mask = smooth > max(floor, LIGHTER * INK_SHARE * strongest)
    # Edges go before lines: a line removed along the border would part an edge from it.
    mask &= ~edge_pieces(mask)
    # An underline or a rule under a number spans much of the picture, but not all of it.
    return remove_underlines(remove_long_lines(mask, span=UNDERLINE))


def remove_underlines(mask: np.ndarray) -> np.ndarray:
    """`mask` without the straight runs of ink longer than UNDERLINE of its width, however
    little askew (UNDERLINE_SLANTS): an underline in a photo, even where it touches the digits.
    Only the line's own rows go; the digits it touches keep the rest of their strokes."""
    height, width = mask.shape
    length = int(UNDERLINE * width)
    if length < 8:
        return mask
    columns = np.arange(width)
    ink_rows, ink_columns = np.nonzero(mask)
    drop = np.zeros_like(mask)
    for slant in UNDERLINE_SLANTS:
        shifts = np.round(columns * np.tan(np.radians(slant))).astype(int)
        shifts -= shifts.min()
        if np.bincount(ink_rows + shifts[ink_columns]).max(initial=0) < length:
            continue  # no row at this slant holds that much ink: usually none does
        rows = np.arange(height)[:, np.newaxis] + shifts  # each column moved down its shift
        sheared = np.zeros((height + int(shifts.max()), width), bool)
        sheared[rows, columns] = mask
        drop |= in_long_runs(sheared, length)[rows, columns]
    return mask & ~drop


def edge_pieces(mask: np.ndarray) -> np.ndarray:
    """The pieces of `mask` that are page edges, strips of table or lines across the picture."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    contact = np.bincount(border, minlength=count + 1)
    edges = [number for number, where in enumerate(ndimage.find_objects(labels), start=1)
             if is_edge(labels[where] == number, where, mask.shape, contact[number])]
    return np.isin(labels, edges)


def deepest(piece: np.ndarray) -> float:
    """How far a piece's ink reaches from its edge: half its boldest stroke's width."""
    return float(ndimage.distance_transform_edt(np.pad(piece, 1)).max())


def writing_depth(depths: np.ndarray, heights: np.ndarray) -> float:
    """The writing's depth: the median of the pieces' `deepest`, each piece counted by its
    height, so that a sheet's specks do not set it."""
    order = np.argsort(depths)
    weights = np.cumsum(heights[order])
    return float(depths[order][np.searchsorted(weights, weights[-1] / 2)])


def pieces(mask: np.ndarray, ink: np.ndarray) -> list[tuple[Box, np.ndarray]]:
    """Each connected piece of ink (its box, and its mask within the box) that is not much
    fainter than the darkest digit-sized piece (a shadow, writing showing through the paper),
    nor a BLOT."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return []
    mean_ink = ndimage.mean(ink, labels, np.arange(1, count + 1))
    found = [((rows.start, rows.stop, columns.start, columns.stop), labels[rows, columns] == number,
              float(mean_ink[number - 1]))
             for number, (rows, columns) in enumerate(ndimage.find_objects(labels), start=1)]
    if len(found) >= 3:  # fewer say nothing of the writing's strokes
        depths = np.array([deepest(piece) for _, piece, _ in found])
        writing = writing_depth(depths, np.array([height(box) for box, _, _ in found]))
        found = [piece for piece, depth in zip(found, depths, strict=True)
                 if depth <= BLOT * writing]
    tallest = max((height(box) for box, _, _ in found), default=0)
    darkest = max((strength for box, _, strength in found
                   if height(box) >= SEPARATOR * tallest), default=0.0)
    return [(box, component) for box, component, strength in found
            if strength >= FAINT_PIECE * darkest]


def height(box: Box) -> int:
    return box[1] - box[0]


def width(box: Box) -> int:
    return box[3] - box[2]


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


class Slant:
    """Positions along and across lines of writing that run at `angle` degrees (rising to the
    right)."""

    def __init__(self, angle: float):
        self.cos, self.sin = np.cos(np.radians(angle)), np.sin(np.radians(angle))

    def along(self, box: Box) -> float:
        """The centre's position along the line."""
        return (box[2] + box[3]) / 2 * self.cos - (box[0] + box[1]) / 2 * self.sin

    def across(self, box: Box) -> tuple[float, float]:
        """The box's span across the line."""
        centre = (box[0] + box[1]) / 2 * self.cos + (box[2] + box[3]) / 2 * self.sin
        return centre - height(box) / 2, centre + height(box) / 2

    def shared(self, a: Box, b: Box) -> float:
        """How far two boxes overlap across the line."""
        (a0, a1), (b0, b1) = self.across(a), self.across(b)
        return max(0.0, min(a1, b1) - max(a0, b0))


def group_lines(found: list[tuple[Box, np.ndarray]], angle: float = 0.0
                ) -> list[list[tuple[Box, np.ndarray]]]:
    """Pieces grouped into lines of writing that run at `angle`, top to bottom, each left to
    right. Digit-sized pieces make the lines: along the line, each joins the nearest line whose
    last piece it overlaps across the line by SAME_LINE of the shorter height. Smaller pieces
    (a 5's bar, a dot) then join the line of the digit-sized piece nearest them that they
    overlap; the others are left out."""
    slant = Slant(angle)
    tallest = max((height(box) for box, _ in found), default=0)
    sized = [piece for piece in found if height(piece[0]) >= SEPARATOR * tallest]
    lines: list[list[tuple[Box, np.ndarray]]] = []
    for piece in sorted(sized, key=lambda item: slant.along(item[0])):
        box, best, nearest = piece[0], None, 0.0
        for line in lines:
            last = line[-1][0]
            gap = slant.along(box) - slant.along(last)
            if slant.shared(last, box) >= SAME_LINE * min(height(last), height(box)) and (
                    best is None or gap < nearest):
                best, nearest = line, gap
        if best is None:
            lines.append([piece])
        else:
            best.append(piece)
    for piece in found:
        if height(piece[0]) >= SEPARATOR * tallest:
            continue
        touching = [(abs(slant.along(part) - slant.along(piece[0])), index)
                    for index, line in enumerate(lines) for part, _ in line
                    if slant.shared(part, piece[0]) > 0]
        if touching:
            lines[min(touching)[1]].append(piece)
    return sorted(lines, key=lambda line: np.mean([sum(slant.across(box)) for box, _ in line]))


def best_lines(found: list[tuple[Box, np.ndarray]]) -> list[list[tuple[Box, np.ndarray]]]:
    """The lines at the slant (within +-SLANT degrees) that groups the pieces into the fewest
    lines; the least slant among equals."""
    angles = sorted(range(-SLANT, SLANT + 1, 5), key=abs)
    angle = min(angles, key=lambda a: len(group_lines(found, a)))
    return group_lines(found, angle)


def split_numbers(candidates: list[Candidate]) -> list[list[Candidate]]:
    """A line's candidates split where two numbers stand side by side: at a gap wider than
    NUMBER_GAP digit heights and than SPACING times the line's usual gap between digits."""
    if not candidates:
        return []
    digits_height = max(height(candidate.box) for candidate in candidates)
    gaps = [after.box[2] - before.box[3]
            for before, after in zip(candidates[:-1], candidates[1:], strict=True)]
    usual = float(np.median(gaps)) if gaps else 0.0
    numbers = [[candidates[0]]]
    for gap, candidate in zip(gaps, candidates[1:], strict=True):
        if gap > NUMBER_GAP * digits_height and gap > SPACING * usual:
            numbers.append([])
        numbers[-1].append(candidate)
    return numbers


def merge(a: tuple[Box, np.ndarray], b: tuple[Box, np.ndarray]) -> tuple[Box, np.ndarray]:
    """Two pieces as one (the box around both, both masks)."""
    (box_a, mask_a), (box_b, mask_b) = a, b
    box = (min(box_a[0], box_b[0]), max(box_a[1], box_b[1]),
           min(box_a[2], box_b[2]), max(box_a[3], box_b[3]))
    mask = np.zeros((height(box), width(box)), bool)
    for part_box, part in ((box_a, mask_a), (box_b, mask_b)):
        mask[part_box[0] - box[0]: part_box[1] - box[0],
             part_box[2] - box[2]: part_box[3] - box[2]] |= part
    return box, mask


def line_candidates(line: list[tuple[Box, np.ndarray]]) -> list[Candidate]:
    """A line's digit candidates, left to right: pieces standing over one another merged (a 5's
    bar, a broken stroke), separators and specks left out, all but narrow ones given cuts."""
    line_height = max(height(box) for box, _ in line)
    merged: list[tuple[Box, np.ndarray]] = []
    for piece in sorted(line, key=lambda item: item[0][2]):
        box = piece[0]
        if height(box) < SPECK * line_height and width(box) < SPECK * line_height:
            continue
        if height(box) < SEPARATOR * line_height and width(box) > UNDERLINE_LENGTH * line_height:
            continue
        if merged:
            last = merged[-1][0]
            sideways = overlap((last[2], last[3]), (box[2], box[3]))
            upright = overlap((last[0], last[1]), (box[0], box[1]))
            # One above the other (a 5's bar, a broken stroke), not two digits side by side
            # that lean into each other.
            if sideways >= SAME_DIGIT * min(width(last), width(box)) \
                    and upright < SAME_LINE * min(height(last), height(box)):
                merged[-1] = merge(merged[-1], piece)
                continue
        merged.append(piece)
    # The digits' height: the upper quartile of the pieces' heights, not the tallest (a 7 or a 9
    # with a long tail would make a small 0 look like a dot).
    digits_height = float(np.percentile([height(box) for box, _ in merged], 75))
    return [Candidate(box, mask,
                      cut_places(mask) if width(box) > NARROW * digits_height else [],
                      width(box) > WIDE * digits_height)
            for box, mask in merged if height(box) >= SEPARATOR * digits_height]


def cut_places(mask: np.ndarray) -> list[int]:
    """Columns where touching digits may be cut: the least ink in a column, away from the
    ends, best first (at most MAX_DIGITS_IN_ONE - 1 of them, each a stroke apart)."""
    columns = mask.sum(axis=0).astype(float)
    margin = max(2, mask.shape[1] // 6)
    order = np.argsort(columns[margin:-margin], kind="stable") + margin
    chosen: list[int] = []
    gap = max(2, mask.shape[0] // 4)
    for column in order:
        if all(abs(int(column) - other) >= gap for other in chosen):
            chosen.append(int(column))
        if len(chosen) == MAX_DIGITS_IN_ONE - 1:
            break
    return chosen


def find_layout(ink: np.ndarray, drawing: bool) -> list[list[Candidate]]:
    """The numbers' digit candidates in an ink map, in reading order: one list per number."""
    grouped = best_lines(pieces(ink_mask(ink, drawing), ink))
    # A line of specks or dashes alone is no number: lines much shorter than the tallest go.
    tallest = max((max(height(box) for box, _ in line) for line in grouped), default=0)
    return [number for line in grouped
            if max(height(box) for box, _ in line) >= SEPARATOR * tallest
            for number in split_numbers(line_candidates(line))]
