import keras
import numpy as np
import pytest

from digitlab import models
from digitlab.errors import ModelError
from digitlab.preprocess import scale_images


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
    augmentation = models.build_augmentation(seed=1)
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
