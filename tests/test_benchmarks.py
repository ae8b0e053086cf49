"""The real-image benchmark runs end to end on a labelled folder (built here from synthetic
digits: the real development set is never copied into the repository)."""

import csv
import json
import subprocess
import sys

import numpy as np

from digitlab import config
from digitlab.images import handwriting, nondigits, synth
from digitlab.provenance import file_sha256

SCRIPT = config.PROJ_ROOT / "benchmarks" / "real_images.py"
MODEL = config.PROJ_ROOT / "models" / "cnn.keras"


def labelled_folder(folder):
    """Ten 28x28 drawings and two 300-px canvases, with a manifest like the dev set's."""
    rng = np.random.default_rng(0)
    rows = []
    for digit in range(10):
        name = f"{digit}_paint_{digit}.png"
        handwriting.paint_digit(digit, rng, dark=digit % 2 == 0).save(folder / name)
        rows.append({"file": name, "label": digit, "source_repo": "someone/paint",
                     "kind": "drawn", "polarity": "dark_on_light" if digit % 2 == 0
                     else "light_on_dark"})
    for digit in (3, 7):
        name = f"{digit}_canvas.png"
        synth.make_image(digit, "canvas_black", rng).save(folder / name)
        rows.append({"file": name, "label": digit, "source_repo": "other/canvas",
                     "kind": "drawn", "polarity": "transparent"})
    with (folder / "manifest.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_real_image_benchmark_reports_groups_and_the_model_hash(tmp_path):
    data, results = tmp_path / "data", tmp_path / "results"
    data.mkdir()
    labelled_folder(data)
    done = subprocess.run([sys.executable, str(SCRIPT), "--data", str(data), "--model", str(MODEL),
                           "--results", str(results), "--no-sheet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    saved = json.loads((results / "real_images.json").read_text())
    assert saved["model_sha256"] == file_sha256(MODEL)
    summary = saved["summary"]
    assert summary["all"]["images"] == 12
    assert summary["size"]["<= 64 px"]["images"] == 10
    assert summary["size"]["65-512 px"]["images"] == 2
    assert set(summary["family"]) == {"paint", "canvas"}
    assert summary["all"]["digitlab"] >= 11 / 12
    right = sum(image["digit"] == image["label"] for image in saved["images"])
    assert summary["all"]["digitlab"] == right / 12
    assert summary["wrong"] == 12 - right
    assert "| **all** |  | 12 |" in (results / "real_images.md").read_text()


def test_real_image_benchmark_says_when_the_folder_is_missing(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--data", str(tmp_path / "nowhere"),
                           "--results", str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "No real-image set at" in done.stderr and "--data" in done.stderr
    assert not (tmp_path / "real_images.json").exists()


def test_not_digit_benchmark_names_both_models_and_compares_two_approaches(tmp_path):
    script = config.PROJ_ROOT / "benchmarks" / "not_digits.py"
    done = subprocess.run([sys.executable, str(script), "--per-kind", "2", "--limit", "50",
                           "--validation-limit", "500", "--shared", str(tmp_path / "absent"),
                           "--results", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "not_digits_dev is absent: not_digits_dev (real characters) not measured" in done.stdout
    saved = json.loads((tmp_path / "not_digits.json").read_text())
    assert set(saved["sets"]) == {*(f"generated {kind}" for kind in nondigits.KINDS),
                                  "generated, all kinds", "MNIST test digits"}
    assert saved["validation_digits"] == 500
    check = config.PROJ_ROOT / "models" / "digit_check.keras"
    assert saved["model_sha256"] == file_sha256(MODEL)
    assert saved["check"]["model_sha256"] == file_sha256(check)
    assert saved["sets"]["generated, all kinds"]["images"] == 2 * len(nondigits.KINDS)
    mnist = saved["sets"]["MNIST test digits"]
    assert mnist["images"] == 50 and len(mnist["digit_likeness"]) == 50
    assert 0 <= mnist["rejected"] <= 1 and 0 <= mnist["rejected_by_top_probability"] <= 1
    assert "rejected by top probability" in (tmp_path / "not_digits.md").read_text()


def test_threshold_benchmark_names_the_check_and_scores_every_draw(tmp_path):
    script = config.PROJ_ROOT / "benchmarks" / "check_threshold.py"
    done = subprocess.run([sys.executable, str(script), "--seeds", "43", "5", "--count", "100",
                           "--results", str(tmp_path)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    saved = json.loads((tmp_path / "check_threshold.json").read_text())
    check = config.PROJ_ROOT / "models" / "digit_check.keras"
    assert saved["check"]["model_sha256"] == file_sha256(check)
    assert [draw["seed"] for draw in saved["draws"]] == [43, 5]
    assert all(draw["digits"] >= 95 for draw in saved["draws"])  # prepare may find no ink
    for draw in [*saved["draws"], saved["together"]]:
        assert 0 <= draw["rejected_at_committed"] <= 1 and draw["threshold_chosen"] >= 0
    assert saved["together"]["digits"] == sum(draw["digits"] for draw in saved["draws"])
    assert "all draws together" in (tmp_path / "check_threshold.md").read_text()


def test_number_benchmark_scores_each_set_and_names_both_models(tmp_path):
    script = config.PROJ_ROOT / "benchmarks" / "read_numbers.py"
    done = subprocess.run([sys.executable, str(script), "--count", "6", "--data",
                           str(tmp_path / "absent"), "--results", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "absent: real numbers not measured" in done.stdout
    saved = json.loads((tmp_path / "numbers.json").read_text())
    assert saved["model_sha256"] == file_sha256(MODEL)
    assert saved["check"]["model_sha256"] == file_sha256(
        config.PROJ_ROOT / "models" / "digit_check.keras")
    assert set(saved["summary"]) == {"MNIST validation digits, composed",
                                     "MNIST test digits, composed", "generator"}
    for name, records in saved["sets"].items():
        assert saved["summary"][name]["numbers"] == len(records) > 0
        assert all({"label", "read", "whole_picture", "sure"} <= set(r) for r in records)
        assert 0 <= saved["summary"][name]["exact"] <= 1


def test_edit_distance_counts_insertions_deletions_and_substitutions():
    sys.path.insert(0, str(config.PROJ_ROOT / "benchmarks"))
    try:
        from read_numbers import edit_distance
    finally:
        sys.path.pop(0)
    assert edit_distance("2026", "2026") == 0
    assert edit_distance("206", "2026") == 1
    assert edit_distance("20126", "2026") == 1
    assert edit_distance("2036", "2026") == 1
    assert edit_distance("", "123") == 3
