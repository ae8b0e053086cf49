"""The touching-digits network (`numbers.touching`): its classes, its training pictures, how the
reader takes its reading, and training and loading it (quick). Pictures are composed from MNIST
here, never the development photos."""

import numpy as np
import pytest

from digitlab import config
from digitlab.errors import ModelError
from digitlab.numbers import read, synthetic, touching
from digitlab.serve.predict import Predictor

COMMITTED_MODEL = config.PROJ_ROOT / "models" / "cnn.keras"


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(COMMITTED_MODEL)


@pytest.fixture(scope="module")
def validation(mnist_dir):
    from digitlab.mnist.data import load_mnist
    from digitlab.mnist.pipeline import split_validation
    from digitlab.mnist.recipes import CNN

    (x_train, y_train), _ = load_mnist(mnist_dir)
    return split_validation(x_train, y_train, CNN.train.validation_size, CNN.train.seed)[1]


def test_classes_stand_for_one_digit_or_two():
    assert touching.digits_of(7) == [7]
    assert touching.digits_of(10) == [0, 0]
    assert touching.digits_of(10 + 16) == [1, 6]
    assert touching.digits_of(touching.CLASSES - 1) == [9, 9]


def test_training_pictures_match_their_classes(validation):
    inputs, classes = touching.pictures(*validation, 40, seed=0)
    assert inputs.shape == (40, *touching.FRAME) and inputs.max() == pytest.approx(1.0)
    assert set(classes) <= set(range(touching.CLASSES))
    assert (classes < 10).any() and (classes >= 10).any()  # one digit and two both made
    # Two digits fill more of the frame's width than one.
    widths = (inputs.max(axis=1) > 0.1).sum(axis=1)
    assert widths[classes >= 10].mean() > 1.3 * widths[classes < 10].mean()


def overlapping_pair(validation, seed: int):
    """Two MNIST validation digits written into each other, photographed, and their label."""
    rng = np.random.default_rng(seed)
    ink, label = synthetic.compose(*validation, 2, rng, gaps=(-0.25, -0.2), marks=False)
    return synthetic.picture(ink, rng), label


def sure_of(label: str, sureness: float):
    """A stand-in network that reads every candidate it is asked about as `label`."""
    answer = np.full(touching.CLASSES, (1 - sureness) / (touching.CLASSES - 1), np.float32)
    answer[10 + int(label) if len(label) == 2 else int(label)] = sureness

    def reader(inputs: np.ndarray) -> np.ndarray:
        assert inputs.shape[1:] == touching.FRAME
        return np.tile(answer, (len(inputs), 1))
    return reader


def test_the_reader_takes_the_networks_reading_only_when_it_is_sure(predictor, validation):
    picture, label = overlapping_pair(validation, seed=3)
    cut = read.read_number(picture, predictor.classify, predictor.check.threshold)
    other = f"{(int(label[0]) + 1) % 10}{label[1]}"  # a pair the cuts did not read
    sure = read.read_number(picture, predictor.classify, predictor.check.threshold,
                            sure_of(other, 0.99))
    assert sure.number == other and len(sure.digits) == 2
    assert [digit.confidence for digit in sure.digits] == pytest.approx([0.99, 0.99])
    left, right = (digit.box for digit in sure.digits)
    assert left[0] < right[0]  # the two boxes in reading order
    unsure = read.read_number(picture, predictor.classify, predictor.check.threshold,
                              sure_of(other, 0.6))
    assert unsure.number == cut.number


def test_the_network_reads_one_wide_digit_as_one(predictor, validation):
    picture, _ = overlapping_pair(validation, seed=3)
    one = read.read_number(picture, predictor.classify, predictor.check.threshold,
                           sure_of("8", 0.99))
    assert one.number == "8" and len(one.digits) == 1


def test_one_digit_the_cuts_read_is_not_read_as_another(predictor, validation):
    rng = np.random.default_rng(0)  # one MNIST validation 6, wide enough to have cut places
    ink, label = synthetic.compose(*validation, 1, rng, marks=False)
    picture = synthetic.picture(ink, rng)
    asked = []

    def other_digit(inputs: np.ndarray) -> np.ndarray:
        asked.append(len(inputs))
        return sure_of(str((int(label) + 1) % 10), 0.99)(inputs)
    reading = read.read_number(picture, predictor.classify, predictor.check.threshold,
                               other_digit)
    assert asked == [1]  # the network was asked, and overruled: the CNN reads one digit better
    assert reading.number == label == "6"


def test_trained_quickly_it_loads_and_reads(tmp_path, mnist_dir, predictor, validation):
    from digitlab.mnist.data import load_mnist

    record = touching.train(load_mnist(mnist_dir), quick=True, out_dir=tmp_path)
    assert record["quick"] and record["epochs"] == 1
    assert set(record["validation_accuracy"]) == {"one digit", "two digits", "pictures"}
    network = touching.load(tmp_path / "touching.keras")
    inputs, _ = touching.pictures(*validation, 3, seed=1)
    probabilities = network(inputs)
    assert probabilities.shape == (3, touching.CLASSES)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    picture, _ = overlapping_pair(validation, seed=5)
    reading = read.read_number(picture, predictor.classify, predictor.check.threshold, network)
    assert reading.number.isdigit()


def test_a_file_that_is_not_the_network_is_refused():
    with pytest.raises(ModelError, match="not the touching-digits network"):
        touching.load(COMMITTED_MODEL)
