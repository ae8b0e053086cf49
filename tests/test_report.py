import json

import pytest

from digitlab import config
from digitlab.report import check, tables


def test_section_between_markers_is_replaced_and_the_rest_kept():
    text = "intro\n<!-- t:start -->\nold\n<!-- t:end -->\noutro\n"
    assert check.replace_section(text, "t", "new") == (
        "intro\n<!-- t:start -->\nnew\n<!-- t:end -->\noutro\n")


def test_missing_markers_are_a_clear_error():
    with pytest.raises(ValueError, match="no <!-- t:start --> ... <!-- t:end --> markers"):
        check.replace_section("no markers here", "t", "new")


def test_training_table_is_read_from_the_metrics_files(tmp_path):
    metrics = {"test_accuracy": 0.99634, "test_errors": 37, "val_accuracy": 0.9962,
               "parameters": 944426, "epochs_run": 15, "train_seconds": 754.2, "seed": 42}
    (tmp_path / "cnn.metrics.json").write_text(json.dumps(metrics))
    table = tables.training_table(tmp_path)
    assert "| digitlab `cnn` | **99.63%** | 37 / 10,000 | 99.62% | 944,426 | 15 | 12.6 min | 42 |" \
        in table
    assert "mlp" not in table.split("\n")[2]  # no row for a model that was not trained


def test_readme_markers_exist_for_every_generated_section():
    readme = (config.PROJ_ROOT / "README.md").read_text()
    for name in check.sections():
        assert f"<!-- {name}:start -->" in readme and f"<!-- {name}:end -->" in readme


def copy_results(tmp_path):
    """The committed README, models/ results and benchmarks/results/ in a scratch folder."""
    import shutil

    root = config.PROJ_ROOT
    shutil.copy(root / "README.md", tmp_path / "README.md")
    shutil.copytree(root / "models", tmp_path / "models")
    shutil.copytree(root / "benchmarks" / "results", tmp_path / "results")
    return tmp_path / "README.md", tmp_path / "models", tmp_path / "results"


def test_check_passes_on_the_committed_readme_and_results(tmp_path):
    assert check.check(*copy_results(tmp_path)) == []


def test_check_names_an_edited_readme_number(tmp_path):
    readme, models, results = copy_results(tmp_path)
    text = readme.read_text()
    section = check.section_text(text, "exports")
    first_number = next(cell for cell in section.split("|") if "99." in cell)
    readme.write_text(text.replace(first_number, first_number.replace("99.", "98."), 1))
    problems = check.check(readme, models, results)
    assert len(problems) == 1 and "'exports' differs from exports.csv" in problems[0]


def test_check_names_results_of_a_replaced_model(tmp_path):
    readme, models, results = copy_results(tmp_path)
    (models / "cnn.keras").write_bytes((models / "cnn.keras").read_bytes() + b"\0")
    problems = check.check(readme, models, results)
    named = {problem.split(" measured ")[0] for problem in problems if " measured " in problem}
    assert {"comparison.csv", "exports.csv", "transfer.json", "real_images.json",
            "custom_images.json", "predict_speed.json"} <= named
    assert all("cnn.keras" in problem for problem in problems)
    # Results of data that is not here cannot be remeasured, so they are not held against it.
    elsewhere = check.check(readme, models, results, shared_dir=tmp_path / "no_shared")
    assert not any(problem.startswith("real_images.json") for problem in elsewhere)
    (models / "mlp.keras").unlink()
    assert any("measured mlp.keras, which is not in models/" in problem
               for problem in check.check(readme, models, results))


def test_report_check_command_exit_status(monkeypatch, capsys):
    from digitlab import cli

    monkeypatch.setattr(check, "check", lambda: [])
    assert cli.main(["report", "--check"]) == 0
    monkeypatch.setattr(check, "check", lambda: ["README section 'x' differs from x.csv"])
    assert cli.main(["report", "--check"]) == 1
    assert "out of date: README section 'x' differs" in capsys.readouterr().err
