import json
from dataclasses import replace

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from digitlab.mnist import augment, data, models, pipeline, runfiles, train
from digitlab.plots.training import plot_learning_curves


@pytest.fixture(scope="module")
def tiny_mnist(mnist_dir):
    return data.subsample(data.load_mnist(mnist_dir, mirrors=()), 1200, 300)


def test_validation_split_is_fixed_by_the_seed_and_disjoint():
    images = np.arange(100, dtype=np.uint8).reshape(100, 1, 1)
    labels = np.arange(100) % 10
    (fit_a, _), (val_a, _) = pipeline.split_validation(images, labels, 20, seed=7)
    (fit_b, _), (val_b, _) = pipeline.split_validation(images, labels, 20, seed=7)
    np.testing.assert_array_equal(val_a, val_b)
    assert len(val_a) == 20 and len(fit_a) == 80
    assert not set(val_a.ravel()) & set(fit_a.ravel())


def test_validation_size_must_leave_training_images():
    images, labels = np.zeros((10, 28, 28), np.uint8), np.zeros(10, np.uint8)
    with pytest.raises(ValueError, match="validation_size must be between 1 and 9"):
        pipeline.split_validation(images, labels, 10, seed=0)


def quick_train(mnist, models_dir, seed=3):
    train.set_seed(seed)
    model = models.build_cnn(models.CNNConfig(filters=(8, 16), convs_per_block=(1, 1),
                                              dense_units=16), name="cnn")
    config = train.TrainConfig(epochs=1, batch_size=64, validation_size=200, seed=seed,
                               label_smoothing=0.1)
    return model, train.train(model, mnist, config, augment.build_augmentation(seed=seed),
                              options=train.RunOptions(models_dir=models_dir, verbose=0))


def epoch_order(dataset) -> list[int]:
    """The labels of one pass over `dataset`, in order (labels here are the image indices)."""
    return [int(label) for _, labels in dataset for label in labels.numpy()]


def test_training_data_is_every_image_once_per_epoch_reshuffled_by_seed():
    images = np.zeros((50, 28, 28), np.uint8)
    images[:, 0, 0] = np.arange(50) * 5  # each image marked by its first pixel
    labels = np.arange(50)
    dataset = pipeline.make_dataset(images, labels, 8, training=True, seed=3)
    first, second = epoch_order(dataset), epoch_order(dataset)
    assert sorted(first) == list(range(50)) and first != second != list(range(50))
    assert epoch_order(pipeline.make_dataset(images, labels, 8, training=True, seed=3)) == first
    for batch_images, batch_labels in dataset:  # each image still with its own label, scaled
        np.testing.assert_allclose(batch_images.numpy()[:, 0, 0, 0], batch_labels * 5 / 255,
                                   rtol=1e-6)
    assert epoch_order(pipeline.make_dataset(images, labels, 8, training=False)) == list(range(50))


def test_pipelines_run_without_tf_data_autotuning():
    # Its tuning thread made every epoch's end wait idle for up to 30 s (see make_dataset).
    images, labels = np.zeros((16, 28, 28), np.uint8), np.zeros(16)
    for training in (True, False):
        dataset = pipeline.make_dataset(images, labels, 8, training, augment.build_augmentation())
        assert dataset.options().autotune.enabled is False


def test_training_keeps_the_epoch_of_lowest_validation_loss_not_highest_accuracy():
    history = {"val_loss": [0.05, 0.02, 0.015, 0.016], "val_accuracy": [0.98, 0.996, 0.994, 0.995]}
    assert runfiles.kept_epoch(history) == 2


def test_label_smoothing_spreads_part_of_each_target_over_all_ten_digits():
    probabilities = np.array([[0.7, 0.2] + [0.0125] * 8, [0.1] * 10], np.float32)
    labels = np.array([0, 3])
    plain = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
    np.testing.assert_allclose(train.smoothed_crossentropy(0.0)(labels, probabilities), plain,
                               rtol=1e-5)
    targets = np.full((2, 10), 0.01)  # 0.1 spread over ten digits
    targets[[0, 1], labels] += 0.9
    expected = -(targets * np.log(probabilities)).sum(axis=1)
    np.testing.assert_allclose(train.smoothed_crossentropy(0.1)(labels, probabilities), expected,
                               rtol=1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        train.smoothed_crossentropy(1.0)


def test_fit_temperature_finds_how_much_a_model_understates_its_confidence():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (20000, 10))
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in true])
    understated = np.exp(logits / 2) / np.exp(logits / 2).sum(axis=1, keepdims=True)
    assert train.fit_temperature(understated, labels) == pytest.approx(0.5, rel=0.05)
    assert train.fit_temperature(true, labels) == pytest.approx(1.0, rel=0.05)


def test_apply_temperature_divides_the_logits_and_keeps_every_prediction():
    keras.utils.set_random_seed(0)
    model = models.build_mlp(models.MLPConfig(hidden_units=(16,)))
    images = np.random.default_rng(0).random((32, 28, 28, 1), np.float32)
    before = model.predict(images, verbose=0)
    train.apply_temperature(model, 0.5)
    after = model.predict(images, verbose=0)
    expected = before ** 2 / (before ** 2).sum(axis=1, keepdims=True)  # softmax(2 * logits)
    np.testing.assert_allclose(after, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(after.argmax(axis=1), before.argmax(axis=1))
    with pytest.raises(ValueError, match="softmax Dense"):
        no_softmax = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        train.apply_temperature(no_softmax, 2)


def test_make_dataset_rejects_images_of_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        pipeline.make_dataset(np.zeros((4, 32, 32), np.uint8), np.zeros(4), 2, training=False)


def test_training_saves_model_metrics_and_history(tiny_mnist, tmp_path):
    model, metrics = quick_train(tiny_mnist, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cnn.history.csv", "cnn.keras", "cnn.metrics.json"]
    saved = json.loads((tmp_path / "cnn.metrics.json").read_text())
    assert saved == metrics
    assert saved["train_images"] == 1000 and saved["validation_images"] == 200
    assert saved["parameters"] == model.count_params()
    assert saved["test_errors"] == round((1 - saved["test_accuracy"]) * 300)
    (x_train, y_train), (x_test, y_test) = tiny_mnist  # the recorded test loss is plain
    probabilities = model.predict(x_test[..., None] / 255, verbose=0)
    plain = keras.losses.sparse_categorical_crossentropy(y_test, probabilities)
    assert saved["test_loss"] == pytest.approx(float(np.mean(plain)), rel=1e-3)
    # The saved model is already calibrated: on its validation images the best temperature is 1.
    _, (x_val, y_val) = pipeline.split_validation(x_train, y_train, 200, seed=3)
    refit = train.fit_temperature(model.predict(x_val[..., None] / 255, verbose=0), y_val)
    assert saved["temperature"] != 1 and refit == pytest.approx(1.0, abs=0.02)
    history = runfiles.read_history(tmp_path / "cnn.history.csv")
    assert len(history["val_accuracy"]) == saved["epochs_run"] == saved["kept_epoch"] == 1
    loaded = models.load_model(tmp_path / "cnn.keras")
    assert loaded.count_params() == model.count_params()
    for saved_weight, trained_weight in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved_weight, trained_weight)
    # Loaded with its training state, it has none: inference needs no optimizer.
    with_state = keras.saving.load_model(tmp_path / "cnn.keras", safe_mode=True)
    assert getattr(with_state, "optimizer", None) is None


def test_same_seed_gives_the_same_result(tiny_mnist, tmp_path):
    first_model, first = quick_train(tiny_mnist, tmp_path / "a")
    second_model, second = quick_train(tiny_mnist, tmp_path / "b")
    assert first["test_accuracy"] == second["test_accuracy"]
    for a, b in zip(first_model.get_weights(), second_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_failed_save_keeps_the_previous_model(tmp_path, monkeypatch):
    path = tmp_path / "mlp.keras"
    models.build_mlp().save(path)
    before = path.read_bytes()
    model = models.build_mlp()

    def crash(target, *args, **kwargs):
        open(target, "wb").write(b"half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        runfiles.save_atomically(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["mlp.keras"]


def test_learning_curves_mark_the_kept_epoch():
    history = {"loss": [0.3, 0.1, 0.08], "accuracy": [0.9, 0.97, 0.98],
               "val_loss": [0.2, 0.05, 0.06], "val_accuracy": [0.95, 0.985, 0.99]}
    figure = plot_learning_curves(history, "test")
    [note] = figure.axes[0].texts
    assert note.get_text() == "kept 98.50%" and note.xy == (2, 0.985)
    plt.close(figure)


def test_the_learning_rate_goes_to_the_history_and_tensorboard(tiny_mnist, tmp_path):
    import tensorflow as tf

    train.set_seed(3)
    model = models.build_cnn(models.CNNConfig(filters=(8, 16), convs_per_block=(1, 1),
                                              dense_units=16), name="cnn")
    config = train.TrainConfig(epochs=2, batch_size=64, validation_size=200, learning_rate=0.01,
                               seed=3)
    logs = train.default_log_dir(tmp_path / "models", "cnn")
    train.train(model, tiny_mnist, config, None,
                options=train.RunOptions(models_dir=tmp_path / "models", verbose=0,
                                         log_dir=logs))
    history = runfiles.read_history(tmp_path / "models" / "cnn.history.csv")
    # About the peak after the one-epoch warm-up (the cosine has just begun), then the end of
    # the cosine: zero.
    assert history["learning_rate"][0] == pytest.approx(0.01, rel=0.01)
    assert history["learning_rate"][1] == 0.0
    tags = {value.tag for path in (tmp_path / "runs" / "cnn").rglob("events.out.tfevents.*")
            for event in tf.compat.v1.train.summary_iterator(str(path))
            for value in event.summary.value}
    assert {"epoch_learning_rate", "epoch_loss", "epoch_accuracy"} <= tags


def test_a_run_keeping_its_last_epoch_validates_once_and_a_rerun_is_not_compiled_again(
        tiny_mnist, tmp_path):
    small = models.CNNConfig(filters=(8, 16), convs_per_block=(1, 1), dense_units=16)
    config = train.TrainConfig(epochs=2, batch_size=64, validation_size=200, seed=3, keep="last")

    def fresh():
        train.set_seed(3)
        return models.build_cnn(small, name="cnn")

    compiled = train.CompiledModels()

    def run(model, config, folder):
        options = train.RunOptions(tmp_path / folder, verbose=0, resumable=False,
                                   compiled=compiled)
        return train.train(model, tiny_mnist, config, None, options=options)

    expected = run(fresh(), config, "a")
    history = runfiles.read_history(tmp_path / "a" / "cnn.history.csv")
    assert np.isnan(history["val_loss"][0]) and history["val_accuracy"][1] == pytest.approx(
        expected["val_accuracy"])
    # The same model trained again, put back to a fresh copy's state (weights and dropout's
    # random generators) first, ends where a fresh copy does, without compiling again; also for
    # a run of another length (so another schedule).
    model = fresh()
    start = [keras.ops.convert_to_numpy(variable) for variable in model.variables]
    run(model, config, "first")
    traced = model.train_function
    for again_config in (config, replace(config, epochs=1)):
        expected = run(fresh(), again_config, "fresh")
        for variable, value in zip(model.variables, start, strict=True):
            variable.assign(value)
        again = run(model, again_config, "again")
        assert model.train_function is traced
        assert again["test_accuracy"] == expected["test_accuracy"]
        assert again["val_accuracy"] == expected["val_accuracy"]
        for a, b in zip(*(models.load_model(tmp_path / folder / "cnn.keras").get_weights()
                          for folder in ("fresh", "again")), strict=True):
            np.testing.assert_array_equal(a, b)
    history = runfiles.read_history(tmp_path / "again" / "cnn.history.csv")
    assert history["learning_rate"] == [0.0]  # the end of the one-epoch cosine


def test_a_run_saving_no_state_takes_its_epochs_from_one_pipeline_with_the_same_batches(
        tiny_mnist, tmp_path):
    import tensorflow as tf

    small = models.CNNConfig(filters=(8, 16), convs_per_block=(1, 1), dense_units=16)
    config = train.TrainConfig(epochs=2, batch_size=64, validation_size=200, seed=3)
    weights = []
    for resumable in (True, False):
        train.set_seed(3)
        model = models.build_cnn(small, name="cnn")
        train.train(model, tiny_mnist, config, augment.build_augmentation(seed=3),
                    options=train.RunOptions(tmp_path / str(resumable), verbose=0,
                                             resumable=resumable))
        weights.append(model.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
    x, y = tiny_mnist[0]
    variable = tf.Variable(0, dtype=tf.int64)
    per_epoch = pipeline.make_dataset(x[:100], y[:100], 32, True, seed=3, epoch=variable)
    first = [batch for _, batch in per_epoch]
    variable.assign(1)
    second = [batch for _, batch in per_epoch]
    together = [batch for _, batch in pipeline.make_dataset(x[:100], y[:100], 32, True, seed=3,
                                                            epochs=range(2))]
    assert len(together) == 8 and all(
        np.array_equal(a, b) for a, b in zip(first + second, together, strict=True))
