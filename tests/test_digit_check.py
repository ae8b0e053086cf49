import json

import numpy as np
import pytest
from PIL import Image

from digitlab import config
from digitlab.errors import ModelError
from digitlab.images import handwriting, nondigits
from digitlab.images.preprocess import prepare
from digitlab.serve import digit_check
from digitlab.serve.digit_check import DigitCheck
from digitlab.serve.predict import NOT_A_DIGIT, Predictor

COMMITTED_MODEL = config.PROJ_ROOT / "models" / "cnn.keras"
COMMITTED_CHECK = config.PROJ_ROOT / "models" / "digit_check.keras"
needs_models = pytest.mark.skipif(not (COMMITTED_MODEL.is_file() and COMMITTED_CHECK.is_file()),
                                  reason="no committed models/cnn.keras and digit_check.keras")


def test_threshold_rejects_at_most_the_allowed_share():
    scores = np.linspace(0, 1, 1000)
    threshold = digit_check.choose_threshold(scores, 0.01)
    assert np.mean(scores < threshold) <= 0.01
    assert np.mean(scores < np.nextafter(threshold, 2)) > 0.01  # the highest such threshold


def test_every_kind_of_non_digit_is_drawn_and_prepared():
    rng = np.random.default_rng(0)
    digits = (np.zeros((20, 28, 28), np.uint8), np.arange(20) % 10)
    digits[0][:, 6:22, 12:16] = 255  # every "digit" a bar: enough to mirror, turn and overlay
    for kind in nondigits.KINDS:
        found, picture = nondigits.make_non_digit(rng, digits, (kind,))
        assert found == kind and isinstance(picture, Image.Image)
        assert min(picture.size) >= 28
    assert prepare(nondigits.make_non_digit(rng, kinds=("letter",))[1]).model_input is not None


def test_fewer_non_digits_leave_the_digits_of_a_draw_as_they_are():
    digits = (np.zeros((20, 28, 28), np.uint8), np.arange(20) % 10)
    digits[0][:, 6:22, 12:16] = 255
    full = digit_check.pictures(6, digits, np.random.default_rng(3))
    alone = digit_check.pictures(6, digits, np.random.default_rng(3), non_digits=0)
    is_digit = full[1] != digit_check.NOT_A_DIGIT_CLASS
    np.testing.assert_array_equal(alone[0], full[0][is_digit])
    assert (alone[1] != digit_check.NOT_A_DIGIT_CLASS).all()


class FixedScores:
    """A stand-in check model whose "not a digit" probability is one minus given scores."""

    def __init__(self, scores):
        self.scores = np.asarray(scores, np.float32)

    def predict(self, inputs, **_):
        probabilities = np.zeros((len(inputs), digit_check.NOT_A_DIGIT_CLASS + 1), np.float32)
        probabilities[:, -1] = 1.0 - self.scores
        return probabilities


def test_the_threshold_is_rounded_down_and_rejects_no_digit_more_than_chosen():
    digits = np.linspace(0.0012345678, 1.0, 1000)
    classes = np.r_[np.zeros(1000, int), np.full(10, digit_check.NOT_A_DIGIT_CLASS)]
    scores = np.r_[digits, np.zeros(10)]
    chosen = digit_check.choose_on_validation(
        FixedScores(scores), digit_check.Pictures(np.zeros((1010, 28, 28)), classes,
                                                  ["digit"] * 1000 + ["x"] * 10, [[]] * 1010,
                                                  [False] * 1010))
    exact = digit_check.choose_threshold(digits.astype(np.float32))
    assert chosen["threshold"] <= exact and exact - chosen["threshold"] < 1e-6
    assert np.mean(digits.astype(np.float32) < chosen["threshold"]) <= digit_check.FALSE_REJECTIONS
    assert chosen["validation_rejected"] == {"digit": 0.005, "x": 1.0}
    assert "1000 pictures" in chosen["chosen_on"]
    assert "10 generated non-digits" in chosen["chosen_on"]


def test_more_pictures_than_digits_draw_digits_again_and_non_digits_can_be_fewer():
    rng = np.random.default_rng(2)
    digits = (np.zeros((6, 28, 28), np.uint8), np.arange(6))
    digits[0][:, 6:22, 12:16] = 255
    _, classes, kinds, *_ = digit_check.pictures(15, digits, rng, non_digits=3)
    assert kinds.count("digit") == 15 and len(kinds) <= 18
    assert (classes == digit_check.NOT_A_DIGIT_CLASS).sum() <= 3


def test_choosing_again_refuses_a_record_of_another_check(tmp_path):
    (tmp_path / "digit_check.keras").write_bytes(b"another model")
    (tmp_path / "digit_check.json").write_text(json.dumps({"model_sha256": "0" * 64}))
    with pytest.raises(ModelError, match="describes another"):
        digit_check.choose_again(None, tmp_path)


def test_choosing_again_rewrites_only_the_threshold_of_the_same_check(tmp_path, mnist_dir,
                                                                     monkeypatch):
    from digitlab.mnist.data import load_mnist

    mnist = load_mnist(mnist_dir)
    digit_check.train(mnist, quick=True, out_dir=tmp_path)
    before = json.loads((tmp_path / "digit_check.json").read_text())
    monkeypatch.setattr(digit_check, "THRESHOLD_PICTURES", 300)  # not the quick run's 100
    monkeypatch.setattr(digit_check, "VALIDATION_COUNT", 25)
    record = digit_check.choose_again(mnist, tmp_path)
    assert record == json.loads((tmp_path / "digit_check.json").read_text())
    assert "validation: 300 pictures" in record["chosen_on"]
    kept = {key: value for key, value in record.items()
            if key not in ("threshold", "chosen_on", "validation_rejected")}
    assert kept == {key: before[key] for key in kept} and kept.keys() == before.keys() - {
        "threshold", "chosen_on", "validation_rejected"}
    assert DigitCheck.load(tmp_path / "digit_check.keras").threshold == record["threshold"]


def test_the_check_is_the_mean_of_its_members():
    import keras

    keras.utils.set_random_seed(0)
    members = [digit_check.build_checker(f"member_{index}") for index in range(2)]
    images = np.random.default_rng(0).uniform(0, 1, (3, 28, 28, 1)).astype(np.float32)
    mean = np.mean([member.predict(images, verbose=0) for member in members], axis=0)
    combined = digit_check.average(members).predict(images, verbose=0)
    assert combined.shape == (3, digit_check.NOT_A_DIGIT_CLASS + 1)
    np.testing.assert_allclose(combined, mean, rtol=1e-5)
    assert not np.allclose(mean, members[0].predict(images, verbose=0))  # both count


def test_mnist_kinds_need_mnist_digits():
    with pytest.raises(ValueError, match="pass mnist"):
        nondigits.non_digit_ink("mnist_mirrored", np.random.default_rng(0))


def test_a_model_that_is_not_a_check_is_refused(tmp_path):
    (tmp_path / "digit_check.keras").write_bytes(COMMITTED_MODEL.read_bytes()
                                                 if COMMITTED_MODEL.is_file() else b"zip?")
    (tmp_path / "digit_check.json").write_text(json.dumps({"threshold": 0.5}))
    with pytest.raises(ModelError, match="digit_check.keras"):
        DigitCheck.load(tmp_path / "digit_check.keras")


@pytest.mark.skipif(not COMMITTED_CHECK.is_file(), reason="no committed digit_check.keras")
def test_a_check_whose_record_names_another_model_is_refused(tmp_path):
    path = tmp_path / "digit_check.keras"
    path.write_bytes(COMMITTED_CHECK.read_bytes())
    record = json.loads(COMMITTED_CHECK.with_suffix(".json").read_text())
    (tmp_path / "digit_check.json").write_text(json.dumps({**record, "model_sha256": "0" * 64}))
    with pytest.raises(ModelError, match="another digit_check.keras"):
        DigitCheck.load(path)
    (tmp_path / "digit_check.json").write_text(json.dumps(record))
    assert DigitCheck.load(path).threshold == record["threshold"]


def test_a_check_without_its_threshold_is_refused(tmp_path):
    path = tmp_path / "digit_check.keras"
    path.write_bytes(b"weights")
    with pytest.raises(ModelError, match="threshold"):
        DigitCheck.load(path)


@pytest.fixture(scope="module")
def predictor():
    return Predictor(COMMITTED_MODEL)


def letter_scribbles_noise() -> tuple[Image.Image, list[Image.Image], Image.Image]:
    """A handwritten A, ten scribbles and noise, drawn by the project's generator."""
    rng = np.random.default_rng(5)
    letter = handwriting.draw_digit(0, "pen", 120, rng, variants=[nondigits.LETTERS["A"]])
    scribbles = [handwriting.draw_digit(0, "pen", 120, rng, variants=[nondigits.scribble(rng)])
                 for _ in range(10)]
    noise = rng.uniform(0, 1, (120, 120))
    return (handwriting.on_paper(np.asarray(letter, np.float32) / 255),
            [handwriting.on_paper(np.asarray(s, np.float32) / 255) for s in scribbles],
            Image.fromarray((noise * 255).astype(np.uint8)))


@needs_models
def test_letters_scribbles_and_noise_are_not_digits(predictor):
    letter, scribbles, noise = letter_scribbles_noise()
    for prediction in predictor.predict_many([letter, noise]):
        assert prediction.digit is None and prediction.reason == NOT_A_DIGIT
    # A scribble may wander into a digit's shape (one of these ten makes a 6): most are not
    # digits; benchmarks/not_digits.py measures the share.
    answers = [p.reason for p in predictor.predict_many(scribbles)]
    assert answers.count(NOT_A_DIGIT) >= 8


@needs_models
def test_clear_digits_are_digits(predictor):
    rng = np.random.default_rng(11)
    images = [handwriting.on_paper(np.asarray(handwriting.draw_digit(digit, "pen", 120, rng),
                                              np.float32) / 255) for digit in range(10)]
    predictions = predictor.predict_many(images)
    assert [p.digit for p in predictions] == list(range(10))
    assert all(p.digit_likeness >= predictor.check.threshold for p in predictions)


@needs_models
def test_bold_dark_digits_on_a_small_white_canvas_are_read_as_drawn(predictor):
    """The inverted reading (the canvas as ink) must not win on the softmax's confidence."""
    rng = np.random.default_rng(3)
    for size in (80, 120):
        images = [Image.fromarray(((1 - handwriting.shrunk_digit(
            digit, "marker", (size, size), rng)) * 255).astype(np.uint8)) for digit in range(10)]
        assert [p.digit for p in predictor.predict_many(images)] == list(range(10))


def test_an_alternative_reading_counts_only_when_likely_a_digit_and_more_digit_like():
    keep = digit_check.reading_to_keep
    alternative = digit_check.ALTERNATIVE_LIKENESS
    assert keep(np.array([0.1])) == 0
    assert keep(np.array([0.1, alternative - 0.01])) == 0  # more digit-like, but unlikely
    assert keep(np.array([0.1, alternative - 0.01]), readings_even=True) == 1
    assert keep(np.array([0.1, alternative])) == 1
    assert keep(np.array([0.9, 0.8])) == 0 and keep(np.array([0.6, 0.6])) == 0


def test_each_picture_is_scored_by_the_reading_it_keeps():
    inputs = np.stack([np.full((28, 28), value, np.float32) for value in (0.1, 0.2, 0.3, 0.3)])
    alternatives = [[np.full((28, 28), 0.9, np.float32)], [],
                    [np.full((28, 28), 0.4, np.float32)], [np.full((28, 28), 0.4, np.float32)]]
    drawn = digit_check.Pictures(inputs, np.zeros(4, int), ["digit"] * 4, alternatives,
                                 [False, False, False, True])
    likeness = digit_check.picture_likeness(lambda x: x.mean(axis=(1, 2)), drawn)
    # 0.4 is under ALTERNATIVE_LIKENESS: it counts only where the readings are even
    np.testing.assert_allclose(likeness, [0.9, 0.2, 0.3, 0.4])
