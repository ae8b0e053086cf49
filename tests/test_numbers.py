"""The number reader: lines, separators, touching digits, turned sheets, and the predict
contract (`number`, `digits` with boxes in image pixels). Pictures are made here: generator
numbers and MNIST digits composed, never the development photos."""

import json

import numpy as np
import pytest
from PIL import Image

from digitlab import config
from digitlab.images import handwriting
from digitlab.numbers import layout, read, synthetic
from digitlab.serve import predict
from digitlab.serve.predict import Predictor

COMMITTED_MODEL = config.PROJ_ROOT / "models" / "cnn.keras"


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(COMMITTED_MODEL)


def written(lines: list[str], seed: int = 0, height: int = 60) -> Image.Image:
    """Dark numbers on white paper, one per line, drawn by the generator's pen, every digit
    as dark as the others (the generator varies it; a digit much lighter than the rest of its
    number is not read: see the README)."""
    rng = np.random.default_rng(seed)
    masks = [np.where(np.asarray(handwriting.draw_number(line, "pen", height, rng)) > 40, 255, 0)
             for line in lines]
    width = max(mask.shape[1] for mask in masks) + 2 * height
    page = np.zeros((sum(mask.shape[0] for mask in masks) + height * (len(lines) + 1), width))
    top = height
    for mask in masks:
        page[top: top + mask.shape[0], height: height + mask.shape[1]] = mask
        top += mask.shape[0] + height
    return Image.fromarray((255 - page).astype(np.uint8))


def test_a_written_number_is_read_with_a_box_per_digit(predictor):
    picture = written(["2026"])
    reading = read.read_number(picture, predictor.classify, predictor.check.threshold)
    assert reading.number == "2026"
    boxes = [digit.box for digit in reading.digits]
    assert [box[0] for box in boxes] == sorted(box[0] for box in boxes)  # left to right
    assert all(0 <= x0 < x1 <= picture.width and 0 <= y0 < y1 <= picture.height
               for x0, y0, x1, y1 in boxes)


def test_several_lines_are_read_top_to_bottom_and_apart_by_a_space(predictor):
    reading = read.read_number(written(["305", "17"], seed=3), predictor.classify)
    assert reading.number == "305 17"


def test_two_numbers_side_by_side_are_two_numbers():
    line = [layout.Candidate((0, 40, x, x + 25), np.ones((40, 25), bool), [])
            for x in (0, 35, 70, 260, 295)]
    assert [len(number) for number in layout.split_numbers(line)] == [3, 2]
    # Evenly wide spacing is one number, however wide.
    spaced = [layout.Candidate((0, 40, x, x + 25), np.ones((40, 25), bool), [])
              for x in (0, 90, 180)]
    assert len(layout.split_numbers(spaced)) == 1


def test_dots_and_dashes_between_digits_are_left_out(predictor):
    picture = np.asarray(written(["1986"], seed=5)).copy()
    rows, columns = np.nonzero(picture < 128)
    middle = (rows.min() + rows.max()) // 2
    # Between the two middle digits: the widest run of paper columns near the middle.
    empty = np.flatnonzero((picture[rows.min(): rows.max() + 1] >= 128).all(axis=0))
    gap = int(empty[np.argmin(np.abs(empty - (columns.min() + columns.max()) / 2))])
    picture[rows.max() - 5: rows.max() + 1, gap - 2: gap + 3] = 0  # a dot on the baseline
    picture[middle - 1: middle + 2, columns.max() + 10: columns.max() + 30] = 0  # a dash after
    assert read.read_number(Image.fromarray(picture), predictor.classify).number == "1986"


def test_an_underline_in_a_line_of_digits_is_left_out():
    # An underline that reaches into the digits' line (a photo's slant, a descender) stood
    # under the first digit like a 5's bar: it was joined to it and the whole was cut into 2s
    # (a composed "046" was read "212246").
    digits = [((0, 40, x, x + 25), np.ones((40, 25), bool)) for x in (10, 45, 80)]
    underline = ((37, 47, 5, 110), np.ones((10, 105), bool))  # slanted: 10 rows high
    candidates = layout.line_candidates(sorted([*digits, underline], key=lambda p: p[0][2]))
    assert [candidate.box for candidate in candidates] == [box for box, _ in digits]
    bar = ((0, 6, 12, 30), np.ones((6, 18), bool))  # a 5's bar stays joined to its digit
    body = ((10, 40, 10, 32), np.ones((30, 22), bool))
    assert [c.box for c in layout.line_candidates([bar, body])] == [(0, 40, 10, 32)]


@pytest.mark.parametrize("number, rise", [("2026", 0), ("2026", -8), ("4719", 0),
                                          ("4719", 8), ("4719", -8)])
def test_an_underline_touching_the_digits_is_left_out(predictor, number, rise):
    from PIL import ImageDraw

    picture = written([number])
    rows, columns = np.nonzero(np.asarray(picture) < 128)
    # Through the lowest digit's foot, a little askew (a photo): it joined the digits into one
    # piece, cut into 2s ("2026" was read "2202", "4719" "22224").
    ImageDraw.Draw(picture).line([(columns.min() - 10, rows.max() - 1),
                                  (columns.max() + 10, rows.max() - 1 - rise)], fill=0, width=4)
    assert read.read_number(picture, predictor.classify).number == number


def test_one_digit_wider_than_tall_is_not_taken_for_a_sheet_turned_sideways(predictor):
    from digitlab.mnist.data import load_mnist
    from digitlab.mnist.pipeline import split_validation

    (x_train, y_train), _ = load_mnist()
    _, (x_val, y_val) = split_validation(x_train, y_train, 5000, 42)
    picture, label = synthetic.make_numbers(x_val, y_val, 10, seed=1)[9]
    assert label == "2"  # a wide 2, underlined: turned a quarter, it read as a surer 1
    assert read.read_number(picture, predictor.classify, predictor.check.threshold).number == "2"


def test_a_comma_cut_off_touching_digits_is_no_digit():
    mask = np.zeros((40, 64), bool)
    mask[:, 0:26] = mask[:, 38:64] = True  # two digits ...
    mask[32:40, 26:38] = True  # ... joined by a comma on the baseline
    candidate = layout.Candidate((0, 40, 0, 64), mask, [28, 35], True)
    ways = read.cut_ways(candidate)
    assert all(layout.height(box) >= layout.SEPARATOR * 40 for way in ways for box, _ in way)
    assert [(0, 40, 0, 28), (0, 40, 35, 64)] in [[box for box, _ in way] for way in ways]


def test_digits_leaning_into_each_other_are_cut_along_the_gap_between_them():
    # Two strokes leaning right, 4 columns apart: every straight cut between them runs through
    # ink, the path of least ink runs down the slanted gap.
    rows = np.arange(40)[:, np.newaxis]
    columns = np.arange(60)
    lean = rows // 4  # 10 columns over the height
    mask = ((columns >= 20 - lean) & (columns < 28 - lean)) | ((columns >= 32 - lean)
                                                                 & (columns < 40 - lean))
    assert all(mask[:, column].any() for column in range(22, 36))
    path = read.cut_path(mask, 30)
    assert not mask[np.arange(40), path].any()
    candidate = layout.Candidate((0, 40, 0, 60), mask, [30], True)
    assert any(len(way) == 2 and all(part.sum() == 8 * 40 for _, part in way)
               for way in read.cut_ways(candidate))


def test_a_curved_cut_that_runs_straight_is_not_classified_twice():
    mask = np.zeros((40, 60), bool)
    mask[:, 0:26] = mask[:, 34:60] = True  # two digits with a clean upright gap between them
    candidate = layout.Candidate((0, 40, 0, 60), mask, [30], True)
    assert (read.cut_path(mask, 30) == 30).all()
    assert [[box for box, _ in way] for way in read.cut_ways(candidate)] == [
        [(0, 40, 0, 26), (0, 40, 34, 60)]]


def test_a_small_0_beside_a_long_tailed_7_is_a_digit_not_a_dot():
    # Measured against the tallest piece (the 7's tail), a 0 written small looked like a dot.
    heights = {"7": 60, "2": 40, "0": 22, "3": 40}
    line = [((0, size, 30 * i, 30 * i + 20), np.ones((size, 20), bool))
            for i, size in enumerate(heights.values())]
    assert len(layout.line_candidates(line)) == 4
    dot = ((34, 40, 125, 131), np.ones((6, 6), bool))  # a dot stays no digit
    assert len(layout.line_candidates([*line, dot])) == 4


def test_touching_digits_are_cut_where_the_classifier_is_surest(predictor):
    """MNIST validation digits composed with gaps below zero: they touch or overlap."""
    from digitlab.mnist.data import load_mnist
    from digitlab.mnist.pipeline import split_validation

    (x_train, y_train), _ = load_mnist()
    _, (x_val, y_val) = split_validation(x_train, y_train, 5000, 42)
    made = synthetic.make_numbers(x_val, y_val, 30, seed=11, lengths=(2, 3))
    right = [read.read_number(picture, predictor.classify, predictor.check.threshold).number
             == label for picture, label in made]
    assert np.mean(right) >= 0.8  # 0.77 when only candidates wider than tall were cut


def test_pencil_on_a_photographed_page_is_read_despite_the_dark_table_around_it(predictor):
    """The table around a photographed sheet is darker than any writing; it used to set how
    dark ink must be, and light pencil vanished with the paper."""
    from digitlab.images.synth import photograph

    for seed in range(3):
        page = np.asarray(written(["2026"], seed=seed), np.float32)[..., None].repeat(3, 2)
        pencil = 1 - 0.45 * (1 - page / 255)  # light grey strokes on white
        picture = photograph(pencil, np.random.default_rng(seed))
        assert read.read_number(picture, predictor.classify).number == "2026"


def test_a_wedge_of_table_along_the_border_is_no_writing():
    """Page edges go before long lines: removing the border's column as a line across the
    picture used to part the rest of the wedge from the border, and it stayed as writing."""
    ink = np.zeros((200, 300), np.float32)
    for row in range(200):
        ink[row, : 4 + row // 25] = 0.9  # the table beside a sheet photographed askew
    ink[60:140, 140:150] = 0.9  # a stroke
    mask = layout.ink_mask(ink, drawing=False)
    assert not mask[:, :20].any() and mask[60:140, 140:150].all()


def test_a_shadow_taller_than_the_digits_is_no_writing(predictor):
    """A dark smudge or shadow beside a number, taller than its digits and far bolder than its
    strokes, used to stand as the tallest piece and make the digits look like dots."""
    page = np.pad(np.asarray(written(["2026"], seed=4), np.float32), 40, constant_values=255)
    rows, columns = np.mgrid[0: page.shape[0], 0: page.shape[1]]
    for centre in (60, page.shape[1] - 60):  # at either end of the number, not touching it
        shadow = ((rows - page.shape[0] / 2) / 75) ** 2 + ((columns - centre) / 12) ** 2 < 1
        picture = Image.fromarray(np.where(shadow, 40, page).astype(np.uint8))
        reading = read.read_number(picture, predictor.classify, predictor.check.threshold)
        assert reading.number == "2026"


def test_a_sheet_photographed_sideways_is_turned(predictor):
    picture = written(["4715"], seed=7).rotate(90, expand=True, fillcolor=255)
    assert read.read_number(picture, predictor.classify).number == "4715"


def test_unrotate_maps_boxes_back():
    ink = np.zeros((30, 50))
    ink[5:9, 20:27] = 1
    for turns in (1, 3):
        turned = np.rot90(ink, turns)
        rows, columns = np.nonzero(turned)
        box = (rows.min(), rows.max() + 1, columns.min(), columns.max() + 1)
        assert read.unrotate(box, turns, ink.shape) == (5, 9, 20, 27)


def test_predict_gives_number_and_digits_for_a_number_and_for_one_digit(predictor, tmp_path,
                                                                        capsys):
    number, one = tmp_path / "2026.png", tmp_path / "seven.png"
    written(["2026"]).save(number)
    written(["7"]).save(one)
    assert predict.main(["--model", str(COMMITTED_MODEL), str(number), str(one)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["digit"] is None and lines[0]["reason"] == "several digits"
    assert lines[0]["number"] == "2026" and len(lines[0]["digits"]) == 4
    assert set(lines[0]["digits"][0]) == {"digit", "confidence", "box"}
    assert lines[1]["digit"] == 7 and lines[1]["number"] == "7"
    [digit] = lines[1]["digits"]
    x0, y0, x1, y1 = digit["box"]
    ink_rows, ink_columns = np.nonzero(np.asarray(Image.open(one)) < 128)
    assert abs(x0 - ink_columns.min()) <= 4 and abs(y1 - ink_rows.max() - 1) <= 4
