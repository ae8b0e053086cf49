"""digitlab.mnist.evaluate and .robustness against scikit-learn and hand-computed cases."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skmetrics
from sklearn.calibration import calibration_curve

from digitlab.errors import DigitlabError, ModelError
from digitlab.mnist import comparison, data, evaluate, models, pipeline, robustness, speed, train
from digitlab.mnist.evaluate import Predictions
from digitlab.report import tables

DIGITS = list(range(10))


def random_case(seed: int, n: int = 200, missing: int | None = None):
    """Random labels and mostly-right predictions; `missing` is a digit that never occurs."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    if missing is not None:
        labels[labels == missing] = (missing + 1) % 10
    predicted = np.where(rng.random(n) < 0.7, labels, rng.integers(0, 10, n))
    return labels, predicted


def one_hot_probabilities(labels, predicted, confidence):
    """(n, 10) rows putting `confidence` on `predicted` and the rest evenly elsewhere."""
    probabilities = np.tile(((1 - np.asarray(confidence)) / 9)[:, None], (1, 10))
    probabilities[np.arange(len(labels)), predicted] = confidence
    return probabilities


@pytest.mark.parametrize("seed, missing", [(0, None), (1, 3), (2, 9)])
def test_confusion_matrix_matches_sklearn(seed, missing):
    labels, predicted = random_case(seed, missing=missing)
    expected = skmetrics.confusion_matrix(labels, predicted, labels=DIGITS)
    np.testing.assert_array_equal(evaluate.confusion_matrix(labels, predicted), expected)
    expected_normalized = skmetrics.confusion_matrix(labels, predicted, labels=DIGITS,
                                                     normalize="true")
    np.testing.assert_allclose(evaluate.confusion_matrix(labels, predicted, normalize=True),
                               np.nan_to_num(expected_normalized))


def test_normalized_confusion_rows_sum_to_one_except_absent_digits():
    labels, predicted = random_case(3, missing=4)
    rows = evaluate.confusion_matrix(labels, predicted, normalize=True).sum(axis=1)
    np.testing.assert_allclose(rows, [0 if digit == 4 else 1 for digit in DIGITS])


@pytest.mark.parametrize("seed, missing", [(0, None), (1, 3)])
def test_per_class_report_matches_sklearn(seed, missing):
    labels, predicted = random_case(seed, missing=missing)
    precision, recall, f1, support = skmetrics.precision_recall_fscore_support(
        labels, predicted, labels=DIGITS, zero_division=0)
    report = evaluate.per_class_report(labels, predicted)
    assert list(report.index) == DIGITS
    np.testing.assert_allclose(report["precision"], precision)
    np.testing.assert_allclose(report["recall"], recall)
    np.testing.assert_allclose(report["f1"], f1)
    np.testing.assert_array_equal(report["support"], support)


def test_per_class_report_of_a_never_predicted_digit_is_zero():
    labels = np.array([0, 0, 1, 1])
    predicted = np.array([0, 0, 0, 1])  # digit 2..9 never occur, 1 predicted once
    report = evaluate.per_class_report(labels, predicted)
    assert report.loc[0, "precision"] == pytest.approx(2 / 3)
    assert report.loc[1, "recall"] == pytest.approx(1 / 2)
    assert report.loc[5].tolist() == [0, 0, 0, 0]


def test_most_confused_lists_off_diagonal_cells_largest_first():
    counts = np.diag(np.full(10, 50))
    counts[4, 9] = 7
    counts[9, 4] = 3
    counts[7, 1] = 7
    counts[3, 5] = 1
    table = evaluate.most_confused(counts, top=3)
    assert table[["true", "predicted", "count"]].values.tolist() == [[4, 9, 7], [7, 1, 7],
                                                                      [9, 4, 3]]
    assert table.loc[0, "share of true digit"] == pytest.approx(7 / 57)


def test_misclassified_are_sorted_by_confidence():
    labels = np.array([1, 2, 3, 4, 5])
    predicted = np.array([1, 0, 0, 4, 0])
    confidence = np.array([0.9, 0.5, 0.99, 0.8, 0.7])
    result = Predictions(labels, one_hot_probabilities(labels, predicted, confidence))
    np.testing.assert_array_equal(evaluate.misclassified(result), [2, 4, 1])
    assert result.errors == 3
    assert result.accuracy == pytest.approx(2 / 5)


def test_loss_matches_sklearn_log_loss():
    labels, predicted = random_case(5, n=50)
    confidence = np.random.default_rng(5).uniform(0.3, 0.95, len(labels))
    probabilities = one_hot_probabilities(labels, predicted, confidence)
    result = Predictions(labels, probabilities)
    assert result.loss == pytest.approx(skmetrics.log_loss(labels, probabilities, labels=DIGITS))
    assert result.accuracy == pytest.approx(skmetrics.accuracy_score(labels, predicted))


def test_reliability_and_ece_on_a_hand_computed_case():
    # Bin (0.5, 0.6]: confidences 0.55, 0.6 -> one right. Bin (0.9, 1.0]: 0.95, 1.0, 0.95 -> all.
    confidence = np.array([0.55, 0.6, 0.95, 1.0, 0.95])
    labels = np.array([0, 1, 2, 3, 4])
    predicted = np.array([0, 2, 2, 3, 4])
    result = Predictions(labels, one_hot_probabilities(labels, predicted, confidence))
    table = evaluate.reliability(result, bins=10)
    assert table["count"].tolist() == [0, 0, 0, 0, 0, 2, 0, 0, 0, 3]
    assert table.loc[5, "confidence"] == pytest.approx(0.575)
    assert table.loc[5, "accuracy"] == pytest.approx(0.5)
    assert table.loc[9, "confidence"] == pytest.approx(2.9 / 3)
    assert table.loc[9, "accuracy"] == pytest.approx(1.0)
    assert table.loc[0, ["confidence", "accuracy"]].isna().all()
    expected_ece = 2 / 5 * abs(0.575 - 0.5) + 3 / 5 * abs(2.9 / 3 - 1.0)
    assert evaluate.expected_calibration_error(result, bins=10) == pytest.approx(expected_ece)


def test_perfectly_calibrated_predictions_have_zero_ece():
    # In every bin the share of right answers equals the (single) confidence used there.
    confidence = np.repeat([0.25, 0.75], 4)
    labels = np.zeros(8, dtype=int)
    predicted = np.array([0, 1, 1, 1, 0, 0, 0, 1])
    result = Predictions(labels, one_hot_probabilities(labels, predicted, confidence))
    assert evaluate.expected_calibration_error(result, bins=4) == pytest.approx(0.0)


def test_reliability_matches_sklearn_calibration_curve():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 10, 500)
    confidence = rng.uniform(0.2, 1.0, 500)
    predicted = np.where(rng.random(500) < confidence, labels, (labels + 1) % 10)
    result = Predictions(labels, one_hot_probabilities(labels, predicted, confidence))
    accuracy, mean_confidence = calibration_curve(result.correct, result.confidence, n_bins=10,
                                                  strategy="uniform")
    table = evaluate.reliability(result, bins=10).query("count > 0")
    np.testing.assert_allclose(table["accuracy"], accuracy)
    np.testing.assert_allclose(table["confidence"], mean_confidence)


def test_confidence_on_a_bin_edge_goes_to_the_lower_bin():
    np.testing.assert_array_equal(evaluate.bin_index(np.array([0.0, 0.1, 0.10001, 0.5, 1.0]),
                                                     10), [0, 0, 1, 4, 9])


def test_model_input_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"\(5, 28, 27\)"):
        pipeline.model_input(np.zeros((5, 28, 27), dtype=np.float32))
    scaled = pipeline.model_input(np.full((2, 28, 28), 255, dtype=np.uint8))
    assert scaled.shape == (2, 28, 28, 1) and scaled.max() == 1.0


def test_predict_rejects_unpaired_labels():
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        evaluate.predict(None, np.zeros((3, 28, 28), np.uint8), np.zeros(2))


def test_missing_model_names_the_notebook_that_makes_it(tmp_path):
    with pytest.raises(ModelError, match="03_train_mlp"):
        evaluate.load_models(("mlp", "cnn"), tmp_path)


def test_comparison_markdown_formats_the_csv(tmp_path):
    path = tmp_path / "comparison.csv"
    pd.DataFrame([{"model": "cnn", "test_images": 10000, "test_accuracy": 0.99531,
                   "test_errors": 47, "test_loss": 0.01234, "parameters": 438554,
                   "train_seconds": 612.3, "size_mb": 5.36, "latency_ms": 3.21,
                   "throughput_images_per_s": 4321.0, "speed_measured_on": "x86_64, 2 CPUs"}
                  ]).to_csv(path, index=False)
    table = tables.comparison_markdown(path)
    assert table.splitlines()[2] == ("| CNN | 99.53% | 47 / 10,000 | 0.0123 | 438,554 | 612 s | "
                                     "5.4 MB | 3.2 ms | 4,321 images/s |")
    section = tables.results_markdown(path)
    assert "x86_64, 2 CPUs" in section and "(figures/05_robustness.png)" in section


def test_missing_comparison_csv_names_the_notebook_that_writes_it(tmp_path):
    with pytest.raises(DigitlabError, match="05_evaluate_and_compare"):
        tables.comparison_markdown(tmp_path / "comparison.csv")


# Robustness transforms.

@pytest.fixture(scope="module")
def digits(mnist_dir):
    (_, _), (x_test, y_test) = data.load_mnist(mnist_dir)
    return x_test[:20], y_test[:20]


@pytest.mark.parametrize("name", sorted(robustness.TRANSFORMS))
def test_level_zero_leaves_images_unchanged(name, digits):
    images = pipeline.model_input(digits[0])
    np.testing.assert_array_equal(robustness.transform(name, images, 0), images)


def test_rotation_by_90_degrees_turns_the_array_counter_clockwise(digits):
    images = pipeline.model_input(digits[0])
    np.testing.assert_allclose(robustness.rotate(images, 90), np.rot90(images, 1, axes=(1, 2)),
                               atol=1e-5)


def test_whole_pixel_shift_moves_the_digit_right_and_down(digits):
    images = pipeline.model_input(digits[0])
    expected = np.zeros_like(images)
    expected[:, 3:, 3:] = images[:, :-3, :-3]
    np.testing.assert_allclose(robustness.shift(images, 3), expected, atol=1e-6)


def test_blur_keeps_the_ink_but_spreads_it(digits):
    images = pipeline.model_input(digits[0])
    blurred = robustness.blur(images, 1.5)
    np.testing.assert_allclose(blurred.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3)),
                               rtol=1e-3)
    assert (blurred > 0.01).sum() > (images > 0.01).sum()


def test_noise_has_the_asked_strength_and_stays_in_range(digits):
    images = np.full((50, 28, 28, 1), 0.5, dtype=np.float32)  # mid-grey: no clipping at 0.1
    noisy = robustness.noise(images, 0.1)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert (noisy - images).std() == pytest.approx(0.1, rel=0.02)
    np.testing.assert_array_equal(robustness.noise(images, 0.1), noisy)  # seeded


def test_unknown_transform_is_rejected():
    with pytest.raises(ValueError, match="choose one of"):
        robustness.transform("flip", np.zeros((1, 28, 28), np.uint8), 1)


# The comparison table against recomputation from the saved models (notebook 05's own table is
# checked against its chain's models in test_notebooks).

@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, mnist_dir):
    """Two small quickly trained models, saved with their metrics as notebooks 03/04 do."""
    models_dir = tmp_path_factory.mktemp("output") / "models"
    mnist = data.subsample(data.load_mnist(mnist_dir), 1200, 300)
    quick = train.TrainConfig(epochs=1, validation_size=200, batch_size=64)
    mlp = models.build_mlp(models.MLPConfig(hidden_units=(64,)), name="mlp")
    cnn = models.build_cnn(models.CNNConfig(filters=(8, 16), convs_per_block=(1, 1),
                                            dense_units=16), name="cnn")
    for model in (mlp, cnn):
        train.train(model, mnist, quick, options=train.RunOptions(models_dir=models_dir,
                                                                   verbose=0))
    return models_dir, mnist[1]


def test_comparison_table_matches_recomputation_and_training_metrics(tiny_models, tmp_path):
    models_dir, (x_test, y_test) = tiny_models
    loaded = evaluate.load_models(("mlp", "cnn"), models_dir)
    results = {name: evaluate.predict(model, x_test, y_test) for name, model in loaded.items()}
    path = comparison.save_comparison(
        comparison.comparison_table(loaded, results, x_test[:64], models_dir), tmp_path / "c.csv")
    table = pd.read_csv(path, index_col="model")
    for name in ("mlp", "cnn"):
        fresh = models.load_model(models_dir / f"{name}.keras")
        predicted = fresh.predict(x_test.astype("float32")[..., None] / 255, verbose=0).argmax(1)
        row = table.loc[name]
        assert row["test_accuracy"] == pytest.approx(skmetrics.accuracy_score(y_test, predicted))
        assert row["test_errors"] == int((predicted != y_test).sum())
        trained = json.loads((models_dir / f"{name}.metrics.json").read_text())
        # Keras' own evaluate at the end of training saw the same 300 test images.
        assert row["test_accuracy"] == pytest.approx(trained["test_accuracy"], abs=1e-6)
        assert row["test_loss"] == pytest.approx(trained["test_loss"], rel=1e-4)
        assert row["train_seconds"] == trained["train_seconds"]
        assert row["parameters"] == fresh.count_params()
        assert row["size_mb"] == pytest.approx((models_dir / f"{name}.keras").stat().st_size / 1e6)
        assert row["latency_ms"] > 0 and row["throughput_images_per_s"] > 0


def test_measure_speed_reports_latency_and_throughput(tiny_models):
    models_dir, (x_test, _) = tiny_models
    model = evaluate.load_models(("cnn",), models_dir)["cnn"]
    measured = speed.measure_speed(model, x_test[:40], batch_size=16, single_calls=3)
    assert measured["images"] == 40 and measured["batch_size"] == 16
    assert measured["latency_ms"] > 0 and measured["throughput_per_s"] > 0


def test_robustness_sweep_at_level_zero_equals_plain_accuracy(tiny_models):
    models_dir, (x_test, y_test) = tiny_models
    loaded = evaluate.load_models(("mlp",), models_dir)
    table = robustness.sweep(loaded, x_test[:100], y_test[:100], {"rotate": (0, 30),
                                                                  "noise": (0, 0.3)})
    assert len(table) == 4
    plain = evaluate.predict(loaded["mlp"], x_test[:100], y_test[:100]).accuracy
    at_zero = table[table["level"] == 0]["accuracy"]
    assert at_zero.tolist() == pytest.approx([plain, plain])
