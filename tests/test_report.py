import json

import pytest

from digitlab import report


def test_section_between_markers_is_replaced_and_the_rest_kept():
    text = "intro\n<!-- t:start -->\nold\n<!-- t:end -->\noutro\n"
    assert report.replace_section(text, "t", "new") == (
        "intro\n<!-- t:start -->\nnew\n<!-- t:end -->\noutro\n")


def test_missing_markers_are_a_clear_error():
    with pytest.raises(ValueError, match="no <!-- t:start --> ... <!-- t:end --> markers"):
        report.replace_section("no markers here", "t", "new")


def test_training_table_is_read_from_the_metrics_files(tmp_path):
    metrics = {"test_accuracy": 0.99634, "test_errors": 37, "val_accuracy": 0.9962,
               "parameters": 944426, "epochs_run": 15, "train_seconds": 754.2, "seed": 42}
    (tmp_path / "cnn.metrics.json").write_text(json.dumps(metrics))
    table = report.training_table(tmp_path)
    assert "| digitlab `cnn` | **99.63%** | 37 / 10,000 | 99.62% | 944,426 | 15 | 12.6 min | 42 |" \
        in table
    assert "mlp" not in table.split("\n")[2]  # no row for a model that was not trained


def test_readme_markers_exist_for_every_generated_section():
    readme = (report.config.PROJ_ROOT / "README.md").read_text()
    for name in ("training", "main-job", "results", "exports", "custom-images", "real-images"):
        assert f"<!-- {name}:start -->" in readme and f"<!-- {name}:end -->" in readme
