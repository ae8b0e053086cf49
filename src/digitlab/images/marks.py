"""Marks on a page that are not writing: a frame drawn around a canvas, ruled lines, margins,
page edges, strips of table and straight edges running into the border.

`digitlab.images.segment` drops them before it looks for the digit among the ink.
"""

import numpy as np
from scipy import ndimage


def remove_frame(mask: np.ndarray, depth: int = 3) -> np.ndarray:
    """Clear a frame drawn around a canvas: border lines that are (nearly) all ink, on at least
    three sides, up to `depth` pixels in, with paper inside. Ink that goes on filling the sides
    past `depth` is no frame but a digit stretched to fill its box (a bold 1)."""
    mask = mask.copy()
    frame = []
    for inset in range(min(depth + 1, min(mask.shape) // 4)):
        inner = mask[inset: mask.shape[0] - inset, inset: mask.shape[1] - inset]  # a view
        sides = [inner[0], inner[-1], inner[:, 0], inner[:, -1]]
        full = [side.mean() >= 0.9 for side in sides]
        if sum(full) < 3:
            break
        if inset == depth:
            return mask
        frame += [side for side, is_full in zip(sides, full, strict=True) if is_full]
    for side in frame:
        side[...] = False
    return mask


def in_long_runs(mask: np.ndarray, length: int) -> np.ndarray:
    """The pixels of `mask` inside a run of at least `length` along its rows (O(n) whatever
    the length)."""
    inside = ndimage.uniform_filter1d(mask.astype(np.float32), length, axis=1) > 0.999
    return ndimage.maximum_filter1d(inside, length, axis=1) & mask


def remove_long_lines(mask: np.ndarray, fraction: float = 0.6, span: float = 0.9,
                      ruled: int = 3) -> np.ndarray:
    """Drop thin straight horizontal/vertical lines that cannot be a digit's stroke.

    A line is dropped when it spans at least `span` of the image (a line across the page, a
    margin, a page edge), or when it is longer than `fraction` and `ruled` or more such
    parallel lines share its direction (ruled paper whose sheet does not fill the frame). A
    single long stroke that does not run edge to edge, a tall straight 1, is kept. Thick bands
    (a strip of table) stay, for `find_digit` to recognise by their contact with the border.
    """
    cleaned = mask.copy()
    for axis in (1, 0):  # rows, then columns
        lines = mask if axis == 1 else mask.T
        length = int(lines.shape[1] * fraction)
        thin = max(3, lines.shape[0] // 100)
        # Only rows holding that much ink can hold such a line: usually none, so this is cheap.
        rows = np.flatnonzero(lines.sum(axis=1) >= length)
        if length < 8 or rows.size == 0:
            continue
        groups = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
        groups = [group for group in groups if len(group) <= thin]
        if not groups:
            continue
        rows = np.concatenate(groups)
        inside = in_long_runs(lines[rows], length)
        # The longest run in each row, then in each line (a group of adjacent rows).
        runs, _ = ndimage.label(inside, structure=[[0, 0, 0], [1, 1, 1], [0, 0, 0]])
        run_length = np.bincount(runs.ravel())
        run_length[0] = 0
        longest = run_length[runs].max(axis=1)
        starts = np.cumsum([0] + [len(group) for group in groups])
        line_length = np.array([longest[start:stop].max()
                                for start, stop in zip(starts[:-1], starts[1:], strict=True)])
        parallel = np.count_nonzero(line_length > 0) >= ruled
        drop = parallel | (line_length >= span * lines.shape[1])
        inside &= np.repeat(drop, [len(group) for group in groups])[:, np.newaxis]
        target = cleaned if axis == 1 else cleaned.T
        target[rows] &= ~inside
    return cleaned


def is_straight(component: np.ndarray) -> bool:
    """True when the component's pixels lie along one straight line (thickness < 8% of length)."""
    points = np.argwhere(component)[:: max(1, int(component.sum()) // 2000)]
    if len(points) < 3:
        return False
    spread = np.linalg.eigvalsh(np.cov(points.T.astype(np.float64)) + 1e-9 * np.eye(2))
    return bool(np.sqrt(max(spread[0], 0) / max(spread[1], 1e-9)) < 0.08)


def is_edge(component: np.ndarray, box: tuple[slice, slice], shape: tuple[int, int],
            contact: int) -> bool:
    """True for a component that is a page edge, a strip of table or a line across the picture.

    Args:
        component: its mask inside `box`; shape: the image's; contact: its pixels on the image
        border.
    """
    height, width = shape
    top, bottom = box[0].start == 0, box[0].stop >= height
    left, right = box[1].start == 0, box[1].stop >= width
    extent = max(component.shape)
    # Page edges, shadows and lines run across the picture, and slivers of table lie along its
    # border; a digit (even one drawn into a corner) crosses the border with a stroke's width.
    if (top and bottom) or (left and right) or contact > 0.25 * extent:
        return True
    # A straight edge running into the border (a paper edge, a ruler, a table's rim).
    touches = top or bottom or left or right
    return bool(touches and extent > 0.1 * max(height, width) and is_straight(component))
