"""Read handwritten numbers: find the digit candidates (`digitlab.numbers.layout`), prepare
each as `prepare` prepares one digit, classify it, and cut touching digits where the classifier
is surest.

A candidate that may be touching digits is read whole and cut at each of its cut places (into
two, and into three or four when it is wide enough): one wider than the line's digits are tall
always, a narrower one (two narrow digits, a 1 beside a 7, can be) only when it does not read
surely as one digit. The reading whose digits the classifier is surest of, on average, wins,
less COUNT_PENALTY for each digit more or fewer than the candidate's width holds: segmentation
by recognition, over-segmenting first and keeping the best cuts. Cuts through digits written
into each other leave a part of one in the other; where the touching-digits network
(`digitlab.numbers.touching`) is sure what such a candidate holds, one digit or two, its reading
wins (`read_touching`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from digitlab.images import reading
from digitlab.images.preprocess import digit_ink, fit_and_centre, normalise_strokes
from digitlab.numbers import touching
from digitlab.numbers.layout import (
    SEPARATOR,
    Box,
    Candidate,
    find_layout,
    height,
    ink_map,
    width,
)

# (n, 28, 28) model inputs -> ((n, 10) probabilities, (n,) digit-likeness)
Classifier = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
# (n, 28, 56) inputs -> (n, 110) probabilities: `numbers.touching`'s network (`touching.load`)
TouchingReader = Callable[[np.ndarray], np.ndarray]
UNSURE = 0.8  # a digit read less surely makes the number unsure (as predict's LOW_CONFIDENCE)
DIGIT_ASPECT = 0.9  # width / height of a digit, to count the digits a candidate's width holds
TURNS = (1, 3)  # quarter turns tried when the digits lie on their side
COUNT_PENALTY = 0.2  # per digit more or fewer than a candidate's width holds
TOUCHING_SURE = 0.9  # the touching-digits network's probability from which its reading wins


@dataclass
class DigitRead:
    """One digit of a number: the answer, its probability and where it stands in the image."""

    digit: int
    confidence: float
    box: list[int]  # x0, y0, x1, y1 in image pixels
    digit_likeness: float = 1.0


@dataclass
class NumberRead:
    """What was read: one list of digits per line of writing, top to bottom."""

    lines: list[list[DigitRead]] = field(default_factory=list)
    threshold: float = 0.0  # digit-likeness below which a digit is not sure

    @property
    def number(self) -> str:
        """The digits read, one number per line separated by one space ("" when none)."""
        return " ".join("".join(str(d.digit) for d in line) for line in self.lines if line)

    @property
    def digits(self) -> list[DigitRead]:
        return [digit for line in self.lines for digit in line]

    def is_sure(self, digit: DigitRead) -> bool:
        """Is this digit read with confidence, and plausibly a digit?"""
        return digit.confidence >= UNSURE and digit.digit_likeness >= self.threshold

    @property
    def sure(self) -> bool:
        """Every digit read with confidence, and each plausibly a digit."""
        return bool(self.digits) and all(self.is_sure(digit) for digit in self.digits)


def placed(ink: np.ndarray, box: Box, mask: np.ndarray) -> np.ndarray:
    """A candidate's mask (within `box`) as a mask of the whole picture."""
    whole = np.zeros(ink.shape, bool)
    whole[box[0]: box[1], box[2]: box[3]] = mask
    return whole


def model_input(ink: np.ndarray, box: Box, mask: np.ndarray) -> np.ndarray:
    """A candidate's ink as the 28x28 model input, prepared as `prepare` prepares one digit."""
    return fit_and_centre(normalise_strokes(digit_ink(ink, placed(ink, box, mask))))


def cut_path(mask: np.ndarray, column: int) -> np.ndarray:
    """The cut from top to bottom near `column` that crosses the least ink: each row's column,
    moving at most one column a row and at most a quarter of the height from `column`
    (touching digits lean into each other; a straight cut runs through one of them)."""
    height, width = mask.shape
    reach, margin = max(1, height // 4), max(2, width // 6)  # as far from the ends as `column`
    low, high = max(margin, column - reach), min(width - margin, column + reach + 1)
    cost = mask[:, low:high].astype(np.float32) + 0.01 * np.abs(np.arange(low, high) - column)
    total = cost[0].copy()
    came = np.zeros(cost.shape, np.int8)
    for row in range(1, height):
        options = np.stack([np.r_[np.inf, total[:-1]], total, np.r_[total[1:], np.inf]])
        step = np.argmin(options, axis=0)
        total = options[step, np.arange(len(total))] + cost[row]
        came[row] = step - 1
    path = np.empty(height, int)
    path[-1] = int(np.argmin(total))
    for row in range(height - 1, 0, -1):
        path[row - 1] = path[row] + came[row, path[row]]
    return path + low


def split(box: Box, mask: np.ndarray, cuts: list[np.ndarray]) -> list[tuple[Box, np.ndarray]]:
    """A candidate cut along `cuts` (each a column for every row, left to right, within its
    box): each part, trimmed to its ink."""
    parts = []
    height, width = mask.shape
    edges = [np.zeros(height, int), *cuts, np.full(height, width)]
    for i in range(1, len(edges)):  # keep the cuts in order where they come close
        edges[i] = np.maximum(edges[i], edges[i - 1])
    x = np.arange(width)
    for left, right in zip(edges[:-1], edges[1:], strict=True):
        part = mask & (x >= left[:, np.newaxis]) & (x < right[:, np.newaxis])
        rows, cols = np.nonzero(part)
        if not len(rows):
            continue
        inner = (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1)
        parts.append(((box[0] + inner[0], box[0] + inner[1], box[2] + inner[2],
                       box[2] + inner[3]),
                      part[inner[0]: inner[1], inner[2]: inner[3]]))
    return parts


def cut_ways(candidate: Candidate) -> list[list[tuple[Box, np.ndarray]]]:
    """The ways to cut a candidate: at every choice of its cut places, into up to one part
    more than its width holds (a narrow 1 among them); straight down each place, and, for a
    candidate wider than the line's digits are tall, also along the least-ink path near it."""
    most = min(len(candidate.cuts), round(width(candidate.box)
                                          / (DIGIT_ASPECT * height(candidate.box))))
    rows = height(candidate.box)
    curved = ({column: cut_path(candidate.mask, column) for column in candidate.cuts}
              if candidate.wide else {})
    bent = {column for column, path in curved.items() if (path != column).any()}
    ways = []
    for count in range(1, most + 1):
        for chosen in combinations(candidate.cuts, count):
            columns = sorted(chosen)
            ways.append(split(candidate.box, candidate.mask,
                              [np.full(rows, column) for column in columns]))
            if bent.intersection(columns):  # else the curved cut is the straight one again
                ways.append(split(candidate.box, candidate.mask,
                                  [curved[column] for column in columns]))
    # A part as short as a separator is the dot or comma that touched a digit, not a digit.
    low = SEPARATOR * rows
    ways = [[part for part in way if height(part[0]) >= low] for way in ways]
    return [way for way in ways if way]


def part_boxes(candidate: Candidate, count: int) -> list[list[int]] | None:
    """A candidate's box (x0, y0, x1, y1) whole, or its two parts cut at its best cut place;
    None when that cut leaves one part, or one as short as a separator (no room for two
    digits: as `cut_ways` drops such a part)."""
    top, bottom, left, right = candidate.box
    if count == 1:
        return [[left, top, right, bottom]]
    rows = height(candidate.box)
    parts = split(candidate.box, candidate.mask, [np.full(rows, candidate.cuts[0])])
    if len(parts) != 2 or any(height(box) < SEPARATOR * rows for box, _ in parts):
        return None
    return [[box[2], box[0], box[3], box[1]] for box, _ in parts]


def read_touching(candidates: list[Candidate], digits: list[list[DigitRead]], ink: np.ndarray,
                  likeness: np.ndarray, touching_reader: TouchingReader) -> None:
    """Where the touching-digits network is sure what a candidate that may be touching digits
    holds (one digit or two), and the cuts read it as at most two digits but others, take the
    network's reading (`digits`, one list per candidate, changed in place; `likeness`: each
    candidate's, read whole). Not where both read one digit: the CNN reads one digit better
    (the network, trained mostly on pairs, reads 98% of its one-digit validation pictures)."""
    asked = [index for index, candidate in enumerate(candidates)
             if candidate.cuts and len(digits[index]) <= 2]
    if not asked:
        return
    probabilities = touching_reader(np.stack([
        touching.network_input(ink, placed(ink, candidates[index].box, candidates[index].mask))
        for index in asked]))
    for index, answer in zip(asked, probabilities, strict=True):
        best = int(np.argmax(answer))
        wanted = touching.digits_of(best)
        if answer[best] < TOUCHING_SURE or [digit.digit for digit in digits[index]] == wanted \
                or len(wanted) == len(digits[index]) == 1:
            continue
        boxes = ([digit.box for digit in digits[index]] if len(digits[index]) == len(wanted)
                 else part_boxes(candidates[index], len(wanted)))
        if boxes is None:
            continue
        digits[index] = [DigitRead(digit, float(answer[best]), box, float(likeness[index]))
                         for digit, box in zip(wanted, boxes, strict=True)]


def unrotate(box: Box, turns: int, shape: tuple[int, int]) -> Box:
    """A box found in `np.rot90(ink, turns)` as a box of `ink` (of `shape`)."""
    top, bottom, left, right = box
    height, width = shape
    if turns == 1:
        return left, right, width - bottom, width - top
    if turns == 3:
        return height - right, height - left, top, bottom
    return box


def read_lines(numbers: list[list[Candidate]], ink: np.ndarray, classify: Classifier,
               threshold: float = 0.0, touching_reader: TouchingReader | None = None
               ) -> tuple[list[list[DigitRead]], float]:
    """Read each number's candidates, choosing each candidate's surest cut; returns the digits
    (boxes in `ink`'s pixels) and the mean score (top probability times digit-likeness).
    `threshold`: the digit check's; a narrow candidate read whole above it, and with
    confidence, is one digit and is not cut. `touching_reader`: see `read_touching`."""
    candidates = [candidate for number in numbers for candidate in number]
    if not candidates:
        return [], 0.0
    # Every candidate read whole first; then cut, only the wide ones and those not surely one
    # digit (classifying every cut of every candidate took twice as long).
    ways = [[[(candidate.box, candidate.mask)]] for candidate in candidates]
    probabilities, likeness = classify(np.stack([model_input(ink, candidate.box, candidate.mask)
                                                 for candidate in candidates]))
    sure = (probabilities.max(axis=1) >= UNSURE) & (likeness >= threshold)
    # Each way's rows among the classified: the wholes first, then the cut ways' parts.
    rows_of = [[slice(index, index + 1)] for index in range(len(candidates))]
    parts: list[tuple[Box, np.ndarray]] = []
    for candidate, candidate_ways, candidate_rows, whole_is_sure in zip(
            candidates, ways, rows_of, sure, strict=True):
        for way in cut_ways(candidate) if candidate.wide or not whole_is_sure else []:
            start = len(candidates) + len(parts)
            candidate_ways.append(way)
            candidate_rows.append(slice(start, start + len(way)))
            parts += way
    if parts:
        more = classify(np.stack([model_input(ink, box, mask) for box, mask in parts]))
        probabilities = np.concatenate([probabilities, more[0]])
        likeness = np.concatenate([likeness, more[1]])
    scores = probabilities.max(axis=1) * likeness
    chosen, digits = [], []
    for candidate, candidate_ways, candidate_rows in zip(candidates, ways, rows_of, strict=True):
        expected = width(candidate.box) / (DIGIT_ASPECT * height(candidate.box))
        # The classifier's mean certainty, less a little for each digit more or fewer than the
        # candidate's width holds.
        score, way, rows = max(((float(np.mean(scores[rows]))
                                 - COUNT_PENALTY * abs(len(way) - expected), way, rows)
                                for way, rows in zip(candidate_ways, candidate_rows,
                                                     strict=True)), key=lambda option: option[0])
        chosen.append(score)
        digits.append([DigitRead(int(np.argmax(p)), float(p.max()),
                                 [box[2], box[0], box[3], box[1]], float(like))
                       for (box, _), p, like in zip(way, probabilities[rows], likeness[rows],
                                                    strict=True)])
    if touching_reader is not None:
        read_touching(candidates, digits, ink, likeness, touching_reader)
    lines, start = [], 0
    for number in numbers:
        lines.append([digit for read in digits[start: start + len(number)] for digit in read])
        start += len(number)
    return lines, float(np.mean(chosen))


def read_number(source: reading.ImageSource, classify: Classifier,
                threshold: float = 0.0, touching_reader: TouchingReader | None = None
                ) -> NumberRead:
    """Read the handwritten number(s) in a picture.

    A sheet may be photographed sideways: when there are several digit candidates and most are
    wider than tall, the picture is also read turned a quarter either way, and the reading the
    classifier is surest of wins (one digit wider than tall, a 2 or a 0, says nothing of that).

    Args:
        classify: model inputs -> (probabilities, digit-likeness), e.g. a `Predictor`'s.
        threshold: the digit check's threshold: a digit less digit-like is not sure.
        touching_reader: the touching-digits network (`touching.load`), or None: touching
            digits are then read by cutting alone.
    """
    ink, drawing = ink_map(source)
    side = reading.long_side(source)
    scale = side / max(ink.shape) if side else 1.0
    upright = find_layout(ink, drawing)
    aspects = [width(c.box) / height(c.box) for number in upright for c in number]
    # Digits are taller than wide: most of several candidates wider than tall are digits
    # lying on their side.
    sideways = len(aspects) > 1 and float(np.median(aspects)) > 1.0
    best = (*read_lines(upright, ink, classify, threshold, touching_reader), 0)
    for turns in TURNS if sideways else ():
        turned = np.rot90(ink, turns)
        lines, score = read_lines(find_layout(turned, drawing), turned, classify, threshold,
                                  touching_reader)
        if score > best[1]:
            best = (lines, score, turns)
    lines, _, turns = best
    for digit in (digit for line in lines for digit in line):
        x0, y0, x1, y1 = digit.box
        top, bottom, left, right = unrotate((y0, y1, x0, x1), turns, ink.shape)
        digit.box = [round(left * scale), round(top * scale), round(right * scale),
                     round(bottom * scale)]
    return NumberRead(lines, threshold)
