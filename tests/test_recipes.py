"""The shipped recipes: recorded with every run, rebuilt from the record, and building the
committed CNN."""

import json

import numpy as np
import pytest

from digitlab import cli
from digitlab.config import PROJ_ROOT
from digitlab.errors import ModelError
from digitlab.mnist import data, recipes
from digitlab.mnist.augment import AugmentConfig
from digitlab.mnist.models import CNNConfig, build_cnn, load_model
from digitlab.mnist.train import TrainConfig


@pytest.mark.parametrize("recipe", [recipes.MLP, recipes.CNN], ids=["mlp", "cnn"])
def test_a_recipe_survives_its_json_record(recipe):
    record = json.loads(json.dumps(recipe.record()))
    assert recipes.Recipe.from_record(record) == recipe


def test_an_incomplete_record_is_refused():
    record = recipes.CNN.record()
    del record["augment"]
    with pytest.raises(ValueError, match="Not a complete digitlab recipe"):
        recipes.Recipe.from_record(record)


def test_the_cnn_recipe_builds_the_committed_cnn():
    committed = PROJ_ROOT / "models" / "cnn.keras"
    if not committed.exists():
        pytest.skip("no committed CNN")
    shipped, built = load_model(committed), build_cnn(recipes.CNN.model)
    assert shipped.count_params() == built.count_params()
    layers = [(type(a).__name__, type(b).__name__, a.get_config().get("rate"),
               b.get_config().get("rate")) for a, b in zip(shipped.layers, built.layers,
                                                          strict=True)]
    assert all(kind_a == kind_b and rate_a == rate_b for kind_a, kind_b, rate_a, rate_b in layers)


TINY = recipes.Recipe("cnn", CNNConfig(filters=(8, 16), convs_per_block=(1, 1), dense_units=16),
                      AugmentConfig(), TrainConfig(epochs=1, validation_size=100, seed=3))


def test_train_config_rebuilds_a_recorded_run(mnist_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIGITLAB_MNIST_DIR", str(mnist_dir))
    mnist = data.subsample(data.load_mnist(), 600, 200)
    first = recipes.run(TINY, mnist, models_dir=tmp_path / "first", verbose=0)
    assert recipes.Recipe.from_record(json.loads(json.dumps(first["recipe"]))) == TINY
    assert first["mnist_sha256"]["train-images-idx3-ubyte.gz"].startswith("ba891046")
    assert set(first["git"]) == {"commit", "dirty"}
    config_file = tmp_path / "first" / "cnn.metrics.json"
    assert cli.main(["train", "--config", str(config_file), "--out",
                     str(tmp_path / "again")]) == 0
    assert "rebuilt cnn" in capsys.readouterr().out
    weights = [load_model(tmp_path / run / "cnn.keras").get_weights() for run in ("first", "again")]
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))


def test_train_config_refuses_bad_files_and_never_overwrites(tmp_path):
    old = tmp_path / "old.metrics.json"
    old.write_text(json.dumps({"name": "cnn", "test_accuracy": 0.99}))
    with pytest.raises(ModelError, match="not a metrics file with a recorded recipe"):
        recipes.rerun(old, tmp_path)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json [")
    for bad in (old, garbage, tmp_path / "missing.json"):
        assert cli.main(["train", "--config", str(bad), "--out", str(tmp_path / "x")]) == 2
    recorded = tmp_path / "cnn.metrics.json"
    recorded.write_text(json.dumps({"name": "cnn", "recipe": TINY.record()}))
    with pytest.raises(ModelError, match="never goes into models/"):
        recipes.rerun(recorded, PROJ_ROOT / "models")
    (tmp_path / "cnn.keras").write_bytes(b"precious")
    with pytest.raises(ModelError, match="pass --overwrite"):
        recipes.rerun(recorded, tmp_path)
    assert (tmp_path / "cnn.keras").read_bytes() == b"precious"
