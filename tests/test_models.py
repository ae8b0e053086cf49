import keras
import numpy as np
import pytest

from digitlab.errors import ModelError
from digitlab.mnist import augment, models
from digitlab.mnist.pipeline import scale_images


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_models_map_28x28_images_to_ten_probabilities(kind):
    model = models.build_model(kind)
    probabilities = model(np.zeros((3, 28, 28, 1), np.float32), training=False).numpy()
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_keras_io_reference_is_the_published_architecture():
    model = models.build_keras_io_convnet()
    assert model.count_params() == 34826  # as printed by the keras-io example's summary


def test_unknown_model_kind_is_a_clear_value_error():
    with pytest.raises(ValueError, match="Unknown model kind 'resnet'.*'cnn', 'mlp'"):
        models.build_model("resnet")


def test_cnn_config_needs_one_depth_per_block():
    with pytest.raises(ValueError, match="one convs_per_block entry per filters entry"):
        models.build_cnn(models.CNNConfig(filters=(32, 64), convs_per_block=(1,)))


def test_wrong_image_shape_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"got \(2, 32, 32"):
        scale_images(np.zeros((2, 32, 32), np.uint8))


def test_augmentation_changes_training_images_only():
    images = np.zeros((4, 28, 28, 1), np.float32)
    images[:, 8:20, 12:16] = 1.0
    augmentation = augment.build_augmentation(seed=1)
    assert not np.allclose(augmentation(images, training=True), images)
    np.testing.assert_array_equal(augmentation(images, training=False), images)


def test_saved_model_loads_in_safe_mode(tmp_path):
    path = tmp_path / "cnn.keras"
    model = models.build_cnn()
    model.save(path)
    loaded = models.load_model(path)
    x = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(ModelError, match=f"{tmp_path}/nope.keras: model file not found"):
        models.load_model(tmp_path / "nope.keras")


def test_truncated_model_file_is_rejected(tmp_path):
    path = tmp_path / "cnn.keras"
    models.build_mlp().save(path)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ModelError, match=str(path)):
        models.load_model(path)


def test_non_model_file_is_rejected(tmp_path):
    path = tmp_path / "notes.keras"
    path.write_text("not a model")
    with pytest.raises(ModelError, match="not a Keras 3 model file"):
        models.load_model(path)


def test_model_of_another_shape_is_not_a_digitlab_model(tmp_path):
    inputs = keras.Input(shape=(4,))
    path = tmp_path / "other.keras"
    keras.Model(inputs, keras.layers.Dense(3)(inputs)).save(path)
    with pytest.raises(ModelError, match="a digitlab model takes"):
        models.load_model(path)


def digit_batch() -> np.ndarray:
    """Eight different 28x28 'digits': vertical bars at different places and widths."""
    batch = np.zeros((8, 28, 28, 1), np.float32)
    for index in range(8):
        left = 4 + 2 * index
        batch[index, 4:24, left: left + 1 + index % 3] = 1.0
    return batch


def test_stroke_width_change_stays_between_erosion_and_dilation():
    from scipy import ndimage

    images = digit_batch()
    changed = np.asarray(augment.RandomStrokeWidth(0.8, seed=0)(images, training=True))
    eroded = ndimage.grey_erosion(images, size=(1, 3, 3, 1), mode="constant", cval=0)
    dilated = ndimage.grey_dilation(images, size=(1, 3, 3, 1), mode="constant", cval=0)
    assert np.all(changed >= eroded - 1e-6) and np.all(changed <= dilated + 1e-6)
    ink = changed.sum(axis=(1, 2, 3)) / images.sum(axis=(1, 2, 3))
    assert (ink > 1.05).any() and (ink < 0.95).any()  # some bolder, some thinner
    assert np.array_equal(augment.RandomStrokeWidth(0.8)(images, training=False), images)


def test_slant_leans_each_image_and_keeps_it_its_own():
    images = digit_batch()
    slanted = np.asarray(augment.RandomSlant(0.3, seed=1)(images, training=True))
    for index, (before, after) in enumerate(zip(images[..., 0], slanted[..., 0], strict=True)):
        # The bar's top and bottom rows move in opposite directions, by the same amount.
        top = np.average(np.arange(28), weights=after[5] + 1e-9)
        bottom = np.average(np.arange(28), weights=after[22] + 1e-9)
        middle = np.average(np.arange(28), weights=before[13])
        assert abs((top - middle) + (bottom - middle)) < 0.6
        # Nearer its own input than any other image of the batch (Keras' RandomShear was not).
        distances = np.abs(images[..., 0] - after).sum(axis=(1, 2))
        assert np.argmin(distances) == index
    assert not np.allclose(slanted, images)
