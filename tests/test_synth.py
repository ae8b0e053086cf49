import csv
import io

import numpy as np
import pytest
from PIL import Image

from digitlab import config
from digitlab.images import handwriting, synth

CUSTOM_DIR = config.DATA_DIR / "custom"


def test_label_is_read_from_the_file_name():
    assert synth.label_from_name("data/custom/photo_pen_digit7.jpg") == 7
    assert synth.label_from_name("photo_0012_digit0.png") == 0
    assert synth.label_from_name("my_photo.jpg") is None
    assert synth.label_from_name("digit12.png") is None


@pytest.mark.parametrize("digit", range(10))
def test_every_digit_has_strokes_inside_the_unit_box(digit):
    strokes = handwriting.digit_strokes(digit, np.random.default_rng(digit))
    points = np.vstack(strokes)
    assert points.min() >= -1e-9 and points.max() <= 1 + 1e-9
    assert points.max(axis=0).max() == pytest.approx(1.0)


@pytest.mark.parametrize("pen", sorted(handwriting.PENS))
def test_pens_differ_in_stroke_width(pen):
    mask = np.asarray(handwriting.draw_digit(1, pen, 200, np.random.default_rng(0))) > 127
    width = mask.sum() / mask.shape[0]  # a 1 is one vertical stroke: ink per row = its width
    low, high = handwriting.PENS[pen]
    assert 0.5 * low * 200 <= width <= 1.5 * high * 200


@pytest.mark.parametrize("kind", synth.KINDS)
def test_each_kind_renders_an_image(kind):
    image = synth.make_image(5, kind, np.random.default_rng(0))
    assert image.mode == ("RGBA" if kind in ("canvas_black", "canvas_white") else "RGB")
    if kind.startswith("small"):  # digit-sized: a 28x28 paint canvas or a 40-64 px crop
        assert 28 <= min(image.size) and max(image.size) <= 80
    else:
        assert min(image.size) >= 200
    array = np.asarray(image.convert("L"), np.float32)
    if image.mode == "RGB":
        assert array.std() > 5  # not blank: the digit (and the scene) are there


def test_canvas_strokes_are_drawn_in_the_alpha_channel():
    black = np.asarray(synth.make_image(8, "canvas_black", np.random.default_rng(0)))
    white = np.asarray(synth.make_image(8, "canvas_white", np.random.default_rng(0)))
    assert black[..., :3].max() == 0 and white[..., :3].min() == 255
    assert black[..., 3].max() == 255 and (black[..., 3] == 0).mean() > 0.5


def test_generation_is_deterministic_and_labelled(tmp_path):
    first = synth.generate(tmp_path / "a", per_kind=2, kinds=("photo_pen", "canvas_white"))
    second = synth.generate(tmp_path / "b", per_kind=2, kinds=("photo_pen", "canvas_white"))
    rows = list(csv.DictReader(first.open()))
    assert [(row["kind"], row["digit"]) for row in rows] == [
        ("photo_pen", "0"), ("photo_pen", "1"), ("canvas_white", "0"), ("canvas_white", "1")]
    for row in rows:
        data = (first.parent / row["file"]).read_bytes()
        assert data == (second.parent / row["file"]).read_bytes()
        assert synth.label_from_name(row["file"]) == int(row["digit"])
        Image.open(io.BytesIO(data)).verify()


def test_main_writes_the_requested_number_of_images(tmp_path, capsys):
    assert synth.main(["--out", str(tmp_path), "--per-kind", "1"]) == 0
    assert len(list(tmp_path.glob("*_digit*"))) == len(synth.KINDS)
    assert "labels.csv" in capsys.readouterr().out


def test_shipped_samples_are_small_labelled_and_readable():
    samples = [path for path in CUSTOM_DIR.iterdir() if path.suffix in {".png", ".jpg"}]
    assert len(samples) >= 20
    assert sum(path.stat().st_size for path in samples) < 1_500_000
    for path in samples:
        assert synth.label_from_name(path) is not None, path.name
        Image.open(path).verify()
