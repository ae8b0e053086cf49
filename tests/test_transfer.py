"""Transfer learning: the new digit set in MNIST's format, few-shot draws, the strategies, and
`digitlab finetune` on a folder of labelled images (made by the generator)."""

import json
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from scipy import ndimage

from digitlab.errors import LabelError, ModelError
from digitlab.images import handwriting, nondigits
from digitlab.images.synth import render_kinds
from digitlab.mnist import train
from digitlab.mnist.models import build_cnn, load_model
from digitlab.serve.predict import available_model
from digitlab.transfer import finetune, finetune_command
from digitlab.transfer.digits import few_shot, held_out_split, sklearn_digits


@pytest.fixture(scope="module")
def digits():
    return sklearn_digits()


def test_sklearn_digits_are_in_mnist_format(digits):
    images, labels = digits
    assert images.shape == (1797, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    for image in images[:50]:
        rows, columns = np.nonzero(image > 25)
        # Fitted into 20x20: the long side is about 20 pixels (interpolation blurs an edge) ...
        assert 19 <= max(np.ptp(rows), np.ptp(columns)) + 1 <= 22
        # ... and centred by mass in 28x28, to within rounding.
        centre = ndimage.center_of_mass(image.astype(float))
        assert np.allclose(centre, 13.5, atol=1.0)


def test_held_out_split_is_stratified_and_disjoint(digits):
    _, labels = digits
    pool, held = held_out_split(labels, 0.4, seed=0)
    assert len(np.intersect1d(pool, held)) == 0 and len(pool) + len(held) == len(labels)
    shares = np.bincount(labels[held]) / np.bincount(labels)
    assert np.allclose(shares, 0.4, atol=0.01)
    assert np.array_equal(held, held_out_split(labels, 0.4, seed=0)[1])


def test_few_shot_draws_k_of_each_digit(digits):
    _, labels = digits
    first = few_shot(labels, 3, seed=0)
    assert np.bincount(labels[first]).tolist() == [3] * 10
    assert np.array_equal(first, few_shot(labels, 3, seed=0))
    assert not np.array_equal(first, few_shot(labels, 3, seed=1))
    assert len(few_shot(labels, None, seed=0)) == len(labels)
    with pytest.raises(ValueError, match="Digit 8 has 174 images"):
        few_shot(labels, 175, seed=0)


def trainable_names(model: keras.Model) -> set[str]:
    return {weight.path for weight in model.trainable_weights}


def test_strategies_freeze_what_they_say():
    base = build_cnn()
    head = finetune.copy_for(base, "head")
    assert trainable_names(head) == {w.path for w in head.layers[-1].trainable_weights}
    full = finetune.copy_for(base, "full")
    batchnorms = [layer for layer in full.layers
                  if isinstance(layer, keras.layers.BatchNormalization)]
    assert batchnorms and not any(layer.trainable for layer in batchnorms)
    assert all(np.array_equal(a, b) for a, b in zip(full.get_weights(), base.get_weights(),
                                                    strict=True))
    scratch = finetune.copy_for(base, "scratch")
    assert not np.array_equal(scratch.layers[1].get_weights()[0], base.layers[1].get_weights()[0])
    with pytest.raises(ValueError, match="Unknown strategy"):
        finetune.copy_for(base, "gradual-ish")


def test_full_finetuning_keeps_mnist_batchnorm_statistics(digits, tmp_path):
    images, labels = digits
    base = build_cnn()
    chosen = few_shot(labels, 2, seed=0)
    config = finetune.FinetuneConfig("full", epochs=1, epoch_images=40)
    finetune.finetune(base, (images[chosen], labels[chosen]), (images[:50], labels[:50]),
                      (images[50:100], labels[50:100]), config, models_dir=tmp_path)
    tuned = load_model(tmp_path / "finetuned.keras")
    moved = [not np.allclose(a, b) for a, b in zip(tuned.get_weights(), base.get_weights(),
                                                   strict=True)]
    for layer, tuned_layer in zip(base.layers, tuned.layers, strict=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            mean, variance = layer.moving_mean.numpy(), layer.moving_variance.numpy()
            assert np.array_equal(tuned_layer.moving_mean.numpy(), mean)
            assert np.array_equal(tuned_layer.moving_variance.numpy(), variance)
    assert any(moved)  # the convolutions did learn


@pytest.fixture
def fitted_on(monkeypatch) -> list[int]:
    """How many images each temperature fit of `train.train` saw, in order."""
    seen, fit = [], train.fit_temperature

    def spy(probabilities, labels):
        seen.append(len(labels))
        return fit(probabilities, labels)

    monkeypatch.setattr(train, "fit_temperature", spy)
    return seen


def test_finetune_without_validation_keeps_the_base_calibration(digits, tmp_path, fitted_on):
    images, labels = digits
    chosen = few_shot(labels, 1, seed=0)
    config = finetune.FinetuneConfig("full", epochs=1, epoch_images=20)
    metrics = finetune.finetune(build_cnn(), (images[chosen], labels[chosen]), None, None,
                                config, save=False)
    assert fitted_on == []  # nothing to fit on, and never the training images
    assert metrics["temperature"] == 1.0
    assert metrics["test_accuracy"] is None and metrics["test_errors"] is None
    assert metrics["val_accuracy"] is None


def test_finetune_never_sharpens_on_validation_images(digits, monkeypatch):
    images, labels = digits
    chosen = few_shot(labels, 1, seed=0)
    # What a fit gives on a handful of images the model reads all right: the sharpest tried.
    monkeypatch.setattr(train, "fit_temperature", lambda probabilities, labels: 0.05)
    config = finetune.FinetuneConfig("full", epochs=1, epoch_images=20)
    metrics = finetune.finetune(build_cnn(), (images[chosen], labels[chosen]),
                                (images[:20], labels[:20]), (images[20:40], labels[20:40]),
                                config, save=False)
    assert metrics["temperature"] == 1.0


def test_digits_with_fewer_than_three_images_are_named_as_unmeasured():
    assert finetune_command.unmeasured_digits(np.array([0, 0, 0, 1, 1, 2])) == [1, 2]
    assert finetune_command.honesty_note(np.array([0, 0, 0, 1, 1, 1])) is None
    assert "Digit(s) 1, 2 have fewer than 3 images" in finetune_command.honesty_note(
        np.array([0, 0, 0, 1, 1, 2]))
    assert "no honest accuracy can be measured" in finetune_command.honesty_note(
        np.array([0, 1, 1]))


def labelled_folder(folder: Path, per_digit: int = 3) -> Path:
    """Generator-made digits (canvas and paper kinds) saved as <digit>/<kind><n>.<ext>."""
    folder.mkdir(parents=True, exist_ok=True)
    kinds = ("canvas_white", "scan_pen", "photo_marker")
    for kind, index, digit, data, suffix in render_kinds(10 * per_digit // len(kinds) + 1, 7,
                                                         kinds, rotate_digits=True):
        (folder / str(digit)).mkdir(exist_ok=True)
        (folder / str(digit) / f"{kind}{index}{suffix}").write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def base_model() -> Path:
    path = available_model()
    if path is None:
        pytest.skip("no trained CNN (models/cnn.keras)")
    return path


def test_finetune_writes_a_model_predict_loads(base_model, tmp_path, capsys, fitted_on):
    from digitlab.serve import predict

    folder = labelled_folder(tmp_path / "mine")
    out = tmp_path / "models" / "mine.keras"
    assert finetune_command.main([str(folder), "--model", str(base_model), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    before, after = (int(part.split("%")[0].split()[-1])
                     for part in printed.split("held-out")[1].split(",")[:2])
    assert after >= before
    metrics = json.loads((out.parent / "mine.metrics.json").read_text())
    assert metrics["finetune"]["strategy"] == "full"
    # Every digit has three images or more: calibrated on the held-out ones, never the others.
    used = len(finetune_command.read_labelled(folder).labels)
    assert metrics["held_out"] > 0 and "note" not in metrics
    assert fitted_on == [metrics["held_out"]]
    assert metrics["finetune"]["training_images"] == used - metrics["held_out"]
    assert metrics["temperature"] >= 1 and "calibrated on the held-out images" in printed
    some_image = next((folder / "4").iterdir())
    assert predict.main(["--model", str(out), str(some_image)]) == 0
    assert json.loads(capsys.readouterr().out)["digit"] is not None
    # The new model rejects non-digits as the base model does: the digit check is its own.
    letter = tmp_path / "letter.png"
    ink = handwriting.draw_digit(0, "pen", 120, np.random.default_rng(5),
                                 variants=[nondigits.LETTERS["A"]])
    handwriting.on_paper(np.asarray(ink, np.float32) / 255).save(letter)
    for model in (base_model, out):
        assert predict.main(["--model", str(model), str(letter)]) == 0
        assert json.loads(capsys.readouterr().out)["reason"] == "not a digit"


def test_finetune_bad_folders(base_model, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LabelError, match="no labelled images"):
        finetune_command.main([str(empty), "--model", str(base_model)])
    with pytest.raises(LabelError, match="not a folder"):
        finetune_command.main([str(tmp_path / "nowhere"), "--model", str(base_model)])
    bad_label = tmp_path / "bad_label"
    bad_label.mkdir()
    (bad_label / "12_two_digits.png").write_bytes(b"")
    with pytest.raises(LabelError, match="'12' is not a digit 0-9"):
        finetune_command.main([str(bad_label), "--model", str(base_model)])


def test_finetune_skips_unreadable_and_warns_of_missing_digits(base_model, tmp_path, capsys):
    folder = tmp_path / "partial"
    folder.mkdir()
    for kind, index, digit, data, suffix in render_kinds(4, 3, ("canvas_black",)):
        if digit < 4:
            (folder / f"{digit}_{kind}{index}{suffix}").write_bytes(data)
    (folder / "5_broken.png").write_bytes(b"not a png at all")
    out = tmp_path / "partial.keras"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert finetune_command.main([str(folder), "--model", str(base_model), "--out",
                                      str(out)]) == 0
    assert any("4, 5, 6, 7, 8, 9" in str(w.message) for w in caught)
    assert "skipped" in capsys.readouterr().err and out.is_file()


def test_finetune_on_too_few_images_records_no_test_accuracy(base_model, tmp_path, capsys,
                                                            fitted_on):
    folder = labelled_folder(tmp_path / "few", per_digit=1)  # one or two images of each digit
    out = tmp_path / "few.keras"
    assert finetune_command.main([str(folder), "--model", str(base_model), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((tmp_path / "few.metrics.json").read_text())
    assert fitted_on == []  # no temperature fitted, so none on the training images
    assert metrics["temperature"] == 1.0 and metrics["held_out"] == 0
    assert metrics["test_accuracy"] is None and metrics["test_errors"] is None
    assert "no honest accuracy can be measured" in metrics["note"]
    assert "No digit has 3 or more images" in printed
    assert "no honest accuracy can be measured" in printed
    assert "confidences keep the base model's calibration" in printed
    assert "%" not in printed  # no accuracy shown at all


def test_finetune_never_overwrites_or_accepts_a_non_model(base_model, tmp_path):
    folder = labelled_folder(tmp_path / "mine", per_digit=1)
    out = tmp_path / "existing.keras"
    out.write_bytes(b"precious")
    with pytest.raises(ModelError, match="pass --overwrite"):
        finetune_command.main([str(folder), "--model", str(base_model), "--out", str(out)])
    assert out.read_bytes() == b"precious"
    not_a_model = tmp_path / "notes.keras"
    not_a_model.write_text("hello")
    with pytest.raises(ModelError, match="not a Keras 3 model file"):
        finetune_command.main([str(folder), "--model", str(not_a_model), "--out",
                       str(tmp_path / "new.keras")])
    assert not (tmp_path / "new.keras").exists()


def test_study_rows_do_not_depend_on_how_many_workers_ran_them(digits, tmp_path):
    from digitlab.transfer import study

    images, labels = digits
    base_path = tmp_path / "base.keras"
    build_cnn().save(base_path)
    pool, held_out = held_out_split(labels, 0.4)
    held_out = held_out[:100]
    configs = {name: finetune.FinetuneConfig(name, epochs=1, epoch_images=20)
               for name in ("head", "full")}
    plan = [("head", [1], 2), ("full", [2], 1)]
    rows = {workers: study.study(base_path, images, labels, pool, held_out, plan, configs, 2,
                                 tmp_path / f"runs{workers}", keep=["full_k2_draw0"],
                                 workers=workers)
            for workers in (1, 2)}
    # Only the model asked for is saved.
    assert [path.name for path in (tmp_path / "runs2").iterdir() if path.suffix == ".keras"] == [
        "full_k2_draw0.keras"]
    assert [(row["strategy"], row["k"], row["draw"]) for row in rows[1]] == [
        ("head", 1, 0), ("head", 1, 1), ("full", 2, 0)]
    assert rows[1] == [{**row, "seconds": mine["seconds"]}
                       for row, mine in zip(rows[2], rows[1], strict=True)]
