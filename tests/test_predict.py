import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from digitlab import config
from digitlab.errors import ModelError
from digitlab.images import handwriting, synth
from digitlab.images.preprocess import prepare
from digitlab.images.reading import image_files
from digitlab.serve import predict
from digitlab.serve.predict import Prediction, Predictor

COMMITTED_MODEL = config.PROJ_ROOT / "models" / "cnn.keras"
CUSTOM_DIR = config.DATA_DIR / "custom"


@pytest.fixture(scope="session")
def predictor(tiny_model_path):
    return Predictor(tiny_model_path)


@pytest.fixture
def digit_files(tmp_path):
    """A drawn 3, a blank page and a file that is no image."""
    mask = np.pad(np.asarray(handwriting.draw_digit(3, "pen", 120, np.random.default_rng(1))), 40)
    digit = tmp_path / "three.png"
    Image.fromarray(255 - mask).save(digit)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 150), "white").save(blank)
    broken = tmp_path / "notes.png"
    broken.write_text("not an image")
    return digit, blank, broken


def test_default_model_is_the_cnn_in_models():
    assert predict.default_model_path() == config.MODELS_DIR / "cnn.keras"


def test_prediction_carries_digit_confidence_and_ten_probabilities(predictor, digit_files):
    result = predictor.predict(digit_files[0])
    assert isinstance(result, Prediction)
    assert len(result.probabilities) == 10 and sum(result.probabilities) == pytest.approx(1, 1e-4)
    assert result.digit == int(np.argmax(result.probabilities))
    assert result.confidence == max(result.probabilities)
    assert result.low_confidence == (result.confidence < predict.LOW_CONFIDENCE)
    assert result.model_input.shape == (28, 28)
    assert [digit for digit, _ in result.top(3)] == list(np.argsort(result.probabilities)[::-1][:3])


def test_blank_page_and_empty_canvas_give_no_digit(predictor, digit_files):
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    for source in (digit_files[1], canvas):
        result = predictor.predict(source)
        assert result.digit is None and result.probabilities is None
        assert result.reason == "not a digit" and result.detail.startswith("no digit found")


def test_predict_many_keeps_order_and_agrees_with_predict(predictor, digit_files):
    digit, blank, _ = digit_files
    many = predictor.predict_many([digit, blank, digit])
    assert [result.digit is None for result in many] == [False, True, False]
    single = predictor.predict(digit)
    np.testing.assert_allclose(many[0].probabilities, single.probabilities, atol=1e-5)
    # The same image twice in one batch: equal up to float rounding in the batched kernels.
    np.testing.assert_allclose(many[2].probabilities, many[0].probabilities, rtol=0,
                               atol=1e-6)


def test_predicting_prepared_images_equals_predicting_the_files(predictor, digit_files):
    digit, blank, _ = digit_files
    prepared = [prepare(digit, return_steps=True), prepare(blank, return_steps=True)]
    from_prepared = predictor.predict_prepared(prepared)
    from_files = predictor.predict_many([digit, blank])
    assert [p.digit for p in from_prepared] == [p.digit for p in from_files]
    np.testing.assert_allclose(from_prepared[0].probabilities, from_files[0].probabilities,
                               atol=1e-6)


def test_image_files_lists_images_only_sorted(tmp_path):
    for name in ("b.PNG", "a.jpg", "notes.txt", "c.webp"):
        (tmp_path / name).write_bytes(b"")
    assert [path.name for path in image_files(tmp_path)] == ["a.jpg", "b.PNG", "c.webp"]


def test_cli_prints_one_json_line_per_image_and_goes_on_after_errors(tiny_model_path,
                                                                     digit_files, capsys):
    digit, blank, broken = digit_files
    missing = digit.parent / "missing.jpg"
    status = predict.main(["--model", str(tiny_model_path), str(digit), str(broken), str(blank),
                           str(missing)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert [line["path"] for line in lines] == [str(digit), str(broken), str(blank), str(missing)]
    assert isinstance(lines[0]["digit"], int) and len(lines[0]["probabilities"]) == 10
    assert 0 <= lines[0]["confidence"] <= 1
    assert lines[1]["digit"] is None and "not a readable image" in lines[1]["error"]
    assert lines[2]["digit"] is None and lines[2]["reason"] == "not a digit"
    assert lines[2]["detail"].startswith("no digit found")
    assert "error" not in lines[2]
    assert lines[3]["digit"] is None and "file not found" in lines[3]["error"]


def test_cli_exits_0_when_every_file_was_read_and_keeps_stderr_quiet(tiny_model_path,
                                                                     digit_files):
    digit, blank, broken = digit_files
    broken.unlink()  # the folder then holds the digit and the blank page
    result = subprocess.run([sys.executable, "-m", "digitlab", "predict", "--model",
                             str(tiny_model_path), str(digit), str(digit.parent)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(digit), str(blank), str(digit)]
    assert result.stderr == ""  # no TensorFlow start-up lines


def test_cli_says_an_unreadable_file_on_stderr_too(tiny_model_path, digit_files, capsys):
    _, _, broken = digit_files
    assert predict.main(["--model", str(tiny_model_path), str(broken)]) == 1
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]
    assert error.startswith(f"{broken}: not a readable image")
    assert captured.err == f"error: {error}\n"


def test_help_and_a_folder_without_images_are_answered_before_tensorflow_loads(tmp_path):
    code = ("import sys\nfrom digitlab.cli import main\n"
            "for argv in (['predict', '--help'], ['predict', sys.argv[1]], "
            "['finetune', sys.argv[1]]):\n"
            "    try:\n        print(main(argv))\n    except SystemExit as exit:\n"
            "        print(exit.code)\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.splitlines()[-4:] == ["0", "2", "2", "False False"], result.stderr
    assert f"error: {tmp_path}: a folder with no image files" in result.stderr
    assert f"error: {tmp_path}: no labelled images" in result.stderr


def test_missing_model_is_a_clear_model_error(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        Predictor(tmp_path / "nothing.keras")


SHIPPED_SAMPLES = sorted(path for path in CUSTOM_DIR.iterdir()
                         if synth.label_from_name(path) is not None)


@pytest.fixture(scope="module")
def committed_predictor() -> Predictor:
    return Predictor(COMMITTED_MODEL)


def test_there_are_shipped_samples_of_every_kind():
    assert len(SHIPPED_SAMPLES) >= 20


@pytest.mark.skipif(not COMMITTED_MODEL.is_file(), reason="no trained models/cnn.keras")
@pytest.mark.parametrize("path", SHIPPED_SAMPLES, ids=lambda path: path.name)
def test_shipped_sample_is_recognised_by_the_trained_cnn(committed_predictor, path):
    assert committed_predictor.predict(path).digit == synth.label_from_name(path)


@pytest.mark.skipif(not COMMITTED_MODEL.is_file(), reason="no trained models/cnn.keras")
def test_one_image_alone_and_in_a_batch_get_the_same_probabilities(committed_predictor):
    # One image goes through the XLA-compiled call, batches through predict_on_batch.
    path = SHIPPED_SAMPLES[0]
    alone = committed_predictor.predict(path)
    in_batch = committed_predictor.predict_many([path, path])[0]
    assert np.allclose(alone.probabilities, in_batch.probabilities, atol=1e-5)


def test_touching_digits_not_a_digit_as_one_are_read_as_a_number(committed_predictor):
    """Digits written into each other make one piece of ink: prepared as one digit it is not a
    digit (it used to be answered so), but the number reader reads it, every digit sure."""
    ink = handwriting.draw_number("2026", "marker", 80, np.random.default_rng(0),
                                  gap=(-0.12, -0.05))
    result = committed_predictor.predict(handwriting.on_paper(np.asarray(ink, np.float32) / 255))
    assert result.digit is None and result.reason == "several digits"
    assert result.number == "2026" and len(result.digits) == 4
    assert "as one digit: digit-likeness" in result.detail


@pytest.mark.parametrize("number", ["2026", "17", "305"])
def test_a_number_is_several_digits(tiny_model_path, tmp_path, capsys, number):
    ink = handwriting.draw_number(number, "pen", 80, np.random.default_rng(int(number)))
    path = tmp_path / f"{number}.png"
    handwriting.on_paper(np.asarray(ink, np.float32) / 255).save(path)
    assert predict.main(["--model", str(tiny_model_path), str(path)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["digit"] is None and line["reason"] == "several digits"
