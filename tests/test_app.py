"""The demo's predict functions, and the app served on loopback and called by gradio_client."""

import base64
import io
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitlab import config
from digitlab.errors import ImageError
from digitlab.images.handwriting import draw_number
from digitlab.mnist import data, models, train
from digitlab.numbers.read import DigitRead, NumberRead
from digitlab.serve import app
from digitlab.serve.predict import Predictor

# Strokes of clear digits in canvas fractions (x, y), as a user would draw them with a mouse.
STROKES = {
    3: [[(0.30, 0.22), (0.42, 0.13), (0.58, 0.12), (0.68, 0.20), (0.68, 0.33), (0.52, 0.46),
         (0.70, 0.56), (0.73, 0.72), (0.60, 0.86), (0.42, 0.88), (0.28, 0.80)]],
    7: [[(0.28, 0.15), (0.72, 0.15), (0.55, 0.50), (0.42, 0.88)]],
    1: [[(0.56, 0.12), (0.46, 0.88)]],  # slanted: a perfectly vertical bar is dropped
}
# What is not one digit: a bold X, and a number (a 1 with a flag, then a 2).
NOT_ONE_DIGIT = {
    "cross": [[(0.25, 0.25), (0.75, 0.75)], [(0.75, 0.25), (0.25, 0.75)]],
    "12": [[(0.22, 0.30), (0.30, 0.22), (0.28, 0.78)],
           [(0.45, 0.35), (0.55, 0.24), (0.70, 0.25), (0.76, 0.38), (0.68, 0.52), (0.48, 0.76),
            (0.80, 0.76)]],
}
CANVAS = app.CANVAS_SIZE
NUMBER_CANVAS = app.NUMBER_CANVAS_SIZE
SERVER_DETAIL = re.compile(r"/\w+/|object at 0x")  # a path's folders, a Python object's repr


def trained_demo_model(tmp_path_factory, mnist_dir: Path) -> Path:
    """`models/cnn.keras` when the repository has it, else a small CNN trained once a session."""
    committed = config.PROJ_ROOT / "models" / "cnn.keras"
    if committed.is_file():
        return committed
    path = tmp_path_factory.getbasetemp() / "demo_model" / "cnn.keras"
    if not path.is_file():  # shared by test_app, test_browser and test_export
        mnist = data.subsample(data.load_mnist(mnist_dir), 12000, 1000)
        model = models.build_keras_io_convnet(name="cnn")
        train.train(model, mnist, train.TrainConfig(epochs=2, validation_size=1000),
                    options=train.RunOptions(models_dir=path.parent))
    return path


def draw(digit: int | str, size: tuple[int, int] = CANVAS, background=(0, 0, 0, 0),
         ink=(0, 0, 0, 255)) -> np.ndarray:
    """An RGBA canvas with `digit` drawn in mouse-like strokes (transparent background)."""
    image = Image.new("RGBA", size, background)
    pen = ImageDraw.Draw(image)
    for stroke in {**STROKES, **NOT_ONE_DIGIT}[digit]:
        points = [(x * size[0], y * size[1]) for x, y in stroke]
        pen.line(points, fill=ink, width=app.BRUSH_SIZE, joint="curve")
    return np.asarray(image)


def number_strokes(number: str) -> list[list[tuple[float, float]]]:
    """The strokes of `number`'s digits (from STROKES) side by side on the wide canvas, each in
    a square as tall as the canvas, in fractions of the canvas (x, y)."""
    width, height = NUMBER_CANVAS
    left = (width - len(number) * height) / 2  # the squares, centred
    return [[((left + (i + x) * height) / width, y) for x, y in stroke]
            for i, digit in enumerate(number) for stroke in STROKES[int(digit)]]


def draw_strokes(strokes, size: tuple[int, int], width: int) -> np.ndarray:
    """An RGBA canvas with black strokes (fractions of the canvas) on a transparent one."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(x * size[0], y * size[1]) for x, y in stroke]
        pen.line(points, fill=(0, 0, 0, 255), width=width, joint="curve")
    return np.asarray(image)


def written_number(number: str, seed: int = 0) -> np.ndarray:
    """`number` in the handwriting generator's mouse strokes on the wide canvas (RGBA, black
    ink in the alpha channel), every digit equally dark: the reader loses a much lighter one."""
    mask = draw_number(number, "mouse", 150, np.random.default_rng(seed))
    mask.thumbnail(NUMBER_CANVAS)  # a long number: smaller, to fit
    ink = np.where(np.asarray(mask) > 40, 255, 0).astype(np.uint8)
    canvas = np.zeros((NUMBER_CANVAS[1], NUMBER_CANVAS[0], 4), np.uint8)
    top, left = (canvas.shape[0] - ink.shape[0]) // 2, (canvas.shape[1] - ink.shape[1]) // 2
    canvas[top: top + ink.shape[0], left: left + ink.shape[1], 3] = ink
    return canvas


def colour_mask(picture: np.ndarray, colour: str) -> np.ndarray:
    """Where the (h, w, 3) picture is exactly `colour` ("#rrggbb")."""
    rgb = [int(colour[i: i + 2], 16) for i in (1, 3, 5)]
    return (picture == rgb).all(axis=-1)


def check_boxes(boxed: np.ndarray, ink: np.ndarray, digits: int) -> None:
    """`boxed` shows `digits` green boxes around the ink (True where inked), and no orange."""
    green = colour_mask(boxed, app.SURE_COLOUR)
    assert not colour_mask(boxed, app.UNSURE_COLOUR).any(), "a digit read sure is orange"
    # Each box is an outline: the green columns that run the height of a digit are its sides.
    rows, _ = np.nonzero(ink)
    tall = green[rows.min(): rows.max() + 1].sum(axis=0) >= 0.8 * (rows.max() - rows.min())
    sides = np.flatnonzero(np.diff(np.r_[0, tall.astype(int)]) == 1)  # each run's first column
    assert len(sides) == 2 * digits, f"{len(sides)} box sides for {digits} digits"
    inside = np.zeros(ink.shape, bool)
    for left, right in zip(sides[::2], sides[1::2], strict=True):
        assert ink[:, left:right].any(), "a box with no digit in it"
        inside[:, left:right] = True
    assert not (ink & ~inside).any(), "ink outside every box: a digit not boxed"


def editor_value(composite) -> dict:
    return {"background": None, "layers": [], "composite": composite}


@pytest.fixture(scope="session")
def demo_model(tmp_path_factory, mnist_dir) -> Path:
    return trained_demo_model(tmp_path_factory, mnist_dir)


@pytest.fixture(scope="module")
def predictor(demo_model) -> Predictor:
    return Predictor(demo_model)


class MustNotPredict:
    """A predictor stand-in that fails the test if anything asks it for a guess."""

    def predict(self, image):
        raise AssertionError("the app asked the model about an empty canvas")


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_drawn_strokes_on_transparent_canvas_are_read(predictor, digit):
    message, probabilities, model_input, boxed = app.predict_drawing(predictor,
                                                                    editor_value(draw(digit)))
    assert boxed is None  # one digit: no boxes
    assert f"Prediction: {digit}" in message
    assert int(probabilities["probability"].idxmax()) == digit
    assert probabilities["probability"].sum() == pytest.approx(1.0, abs=1e-3)
    assert model_input.shape == (28, 28) and model_input.dtype == np.uint8
    assert model_input.max() > 200 and model_input[0].max() == 0  # white digit, black margin
    assert 'src="data:image/png;base64,' in app.model_input_html(model_input)


def test_a_drawn_cross_is_not_a_digit_and_a_number_is_several_digits(predictor):
    message, probabilities, _, _ = app.predict_drawing(predictor, editor_value(draw("cross")))
    assert "does not look like a digit" in message and (probabilities["probability"] == 0).all()
    message, _, _, _ = app.predict_drawing(predictor, editor_value(draw("12")))
    assert "Several digits" in message and "Number tab" in message


def test_white_strokes_on_transparent_canvas_are_read_too(predictor):
    drawing = draw(3, ink=(255, 255, 255, 255))
    message, _, _, _ = app.predict_drawing(predictor, editor_value(drawing))
    assert "Prediction: 3" in message


@pytest.mark.parametrize("value", [
    None,
    editor_value(None),
    editor_value(np.zeros((*CANVAS, 4), np.uint8)),  # fresh canvas: fully transparent
    editor_value(np.full((*CANVAS, 4), 255, np.uint8)),  # cleared to opaque white
], ids=["none", "no-composite", "transparent", "white"])
def test_empty_canvas_asks_for_a_digit_and_never_guesses(value):
    message, probabilities, model_input, boxed = app.predict_drawing(MustNotPredict(), value)
    assert message == app.DRAW_A_DIGIT
    assert (probabilities["probability"] == 0).all()
    assert model_input is None and boxed is None
    assert app.model_input_html(model_input) == app.MODEL_INPUT_EMPTY
    # The Number tab's canvas: the same, asking for a number (MustNotPredict has no classify).
    assert app.predict_number(MustNotPredict(), value)[::2] == (app.WRITE_A_NUMBER, None)


def test_unreadable_upload_gets_a_clear_message_without_server_details(predictor, tmp_path):
    broken = tmp_path / "photo.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG")
    message, probabilities, model_input, _ = app.predict_upload(predictor, str(broken))
    assert "Cannot read photo.png" in message and "not a readable image" in message
    # Pillow's error names its `<_io.BytesIO object at 0x…>`, ours the path on the server.
    assert not SERVER_DETAIL.search(message), message
    assert (probabilities["probability"] == 0).all() and model_input is None
    assert app.upload_preview_html(broken) == ""  # no picture to show back


def test_upload_preview_shows_the_photo_upright_and_shrunk(tmp_path):
    photo = Image.fromarray(draw(3, size=(900, 600), background=(235, 230, 220, 255)))
    photo = photo.convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # EXIF orientation: turn 90 degrees clockwise to show it, as phones write
    path = tmp_path / "sideways.jpg"
    photo.save(path, exif=exif)
    html = app.upload_preview_html(str(path))
    encoded = re.search(r'<img id="upload-preview-image" [^>]*src="data:image/jpeg;base64,'
                        r'([^"]+)"', html)
    assert encoded, f"no preview image in {html[:200]!r}"
    shown = Image.open(io.BytesIO(base64.b64decode(encoded.group(1))))
    assert shown.size == (224, app.UPLOAD_PREVIEW_SIZE)  # upright, long side shrunk to the limit
    upright = photo.transpose(Image.Transpose.ROTATE_270).resize(shown.size, Image.Resampling.BOX)
    difference = np.abs(np.asarray(shown.convert("L"), float) -
                        np.asarray(upright.convert("L"), float))
    assert difference.mean() < 5, "the preview is not the uploaded picture"
    assert app.upload_preview_html(None) == ""


def test_uploaded_photo_of_a_digit_is_read(predictor, tmp_path):
    photo = tmp_path / "three.jpg"
    Image.fromarray(draw(3, background=(235, 230, 220, 255))).convert("RGB").save(photo)
    message, _, model_input, boxed = app.predict_upload(predictor, str(photo))
    assert "Prediction: 3" in message and model_input is not None and boxed is None


@pytest.mark.parametrize("number", ["42", "305", "2024"])
def test_a_number_written_on_the_wide_canvas_is_read_and_boxed(predictor, number):
    canvas = written_number(number)
    message, probabilities, model_input, boxed = app.predict_number(predictor,
                                                                    editor_value(canvas))
    assert f"Number: {number}" in message and "not sure" not in message, message
    assert not SERVER_DETAIL.search(message), message
    assert (probabilities["probability"] == 0).all() and model_input is None
    assert boxed.shape == (*canvas.shape[:2], 3) and boxed.dtype == np.uint8
    check_boxes(boxed, canvas[..., 3] > 0, len(number))
    # Outside the boxes and labels the picture is the drawing: black strokes on white.
    plain = ~(colour_mask(boxed, app.SURE_COLOUR) | (boxed == 255).all(axis=-1))
    assert ((boxed[plain] == 0).all(axis=-1) == (canvas[plain, 3] == 255)).mean() > 0.99


def test_mouse_strokes_of_a_number_are_read(predictor):
    strokes = draw_strokes(number_strokes("73"), NUMBER_CANVAS, app.NUMBER_BRUSH_SIZE)
    message, _, _, boxed = app.predict_number(predictor, editor_value(strokes))
    assert "Number: 73" in message, message
    check_boxes(boxed, strokes[..., 3] > 0, 2)


def test_a_doodle_in_a_number_is_boxed_orange_and_said_unsure(predictor):
    canvas = written_number("42")
    cross = draw_strokes([[(0.80, 0.2), (0.95, 0.8)], [(0.95, 0.2), (0.80, 0.8)]],
                         NUMBER_CANVAS, app.NUMBER_BRUSH_SIZE)
    message, _, _, boxed = app.predict_number(predictor, editor_value(np.maximum(canvas, cross)))
    assert "Number: 42" in message and "not sure" in message, message
    orange_columns = np.flatnonzero(colour_mask(boxed, app.UNSURE_COLOUR).any(axis=0))
    crossed = np.flatnonzero(cross[..., 3].any(axis=0))
    assert orange_columns.min() <= crossed.min() and crossed.max() <= orange_columns.max()
    green_columns = np.flatnonzero(colour_mask(boxed, app.SURE_COLOUR).any(axis=0))
    assert green_columns.max() < crossed.min(), "the digits are not boxed green"


def test_a_box_is_green_only_when_its_digit_is_confident_and_digit_like():
    threshold = 0.5
    digits = [DigitRead(1, 0.99, [10, 10, 50, 90], digit_likeness=0.9),  # sure
              DigitRead(2, 0.99, [90, 10, 130, 90], digit_likeness=0.2),  # not digit-like
              DigitRead(3, 0.60, [170, 10, 210, 90], digit_likeness=0.9)]  # not confident
    boxed = app.boxed_picture(np.full((100, 230, 3), 255, np.uint8),
                              NumberRead([digits], threshold))
    for digit, colour in zip(digits, ["SURE_COLOUR", "UNSURE_COLOUR", "UNSURE_COLOUR"],
                             strict=True):
        x0, y0, x1, y1 = digit.box
        around = boxed[y0 - 5: y1 + 5, x0 - 5: x1 + 5]
        assert colour_mask(around, getattr(app, colour)).sum() > 2 * (y1 - y0), (digit, colour)
    message = app.number_message(NumberRead([digits], threshold))
    assert "Number: 123" in message and "not sure" in message


def test_an_uploaded_photo_of_a_number_is_read_with_its_boxes(predictor, tmp_path):
    ink = written_number("305")[..., 3] > 0
    paper = np.full((*ink.shape, 3), (235, 230, 220), np.uint8)
    paper[ink] = (30, 30, 70)  # blue-black ink
    photo = Image.fromarray(paper).resize((ink.shape[1] * 2, ink.shape[0] * 2))  # 1344 wide
    path = tmp_path / "number.jpg"
    photo.save(path, quality=92)
    message, probabilities, model_input, boxed = app.predict_upload(predictor, str(path))
    assert "Number: 305" in message and "not sure" not in message, message
    assert not SERVER_DETAIL.search(message), message
    assert (probabilities["probability"] == 0).all() and model_input is None
    # Shrunk to READING_SIZE, and the boxes with it: around the ink where the picture shows it.
    assert boxed.shape == (ink.shape[0] * 2 * app.READING_SIZE // photo.width,
                           app.READING_SIZE, 3)
    shown_ink = np.asarray(Image.fromarray(ink).resize(boxed.shape[1::-1]))
    check_boxes(boxed, shown_ink, 3)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served_app(predictor):
    """The demo served on a free loopback port for the tests of this module."""
    demo = app.build_app(predictor)
    port = free_port()
    app.launch(demo, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def drawings(tmp_path_factory) -> dict[int, Path]:
    """Each test digit saved as a transparent PNG, as the browser sends the canvas."""
    folder = tmp_path_factory.mktemp("drawings")
    paths = {}
    for digit in STROKES:
        paths[digit] = folder / f"{digit}.png"
        Image.fromarray(draw(digit)).save(paths[digit])
    return paths


def client_predict(client, path: Path) -> str:
    from gradio_client import handle_file

    message, _, _ = client.predict(editor_value(handle_file(str(path))),
                                   api_name="/predict_drawing")
    return message


def test_served_app_answers_gradio_client_and_survives_bad_uploads(served_app, drawings,
                                                                   tmp_path):
    from gradio_client import Client, handle_file

    client = Client(served_app, verbose=False)
    assert "Prediction: 3" in client_predict(client, drawings[3])
    broken = tmp_path / "scan.png"
    broken.write_bytes(b"not an image at all")
    message, _, _, preview = client.predict(handle_file(str(broken)),
                                            api_name="/predict_upload")
    assert "Cannot read scan.png" in message
    assert not SERVER_DETAIL.search(message), message  # not Gradio's temp folder either
    assert preview == ""
    message, _, _, preview = client.predict(handle_file(str(drawings[7])),
                                            api_name="/predict_upload")
    assert "Prediction: 7" in message and 'id="upload-preview-image"' in preview
    number = tmp_path / "number.png"
    Image.fromarray(written_number("42")).save(number)
    message, _, _, reading = client.predict(editor_value(handle_file(str(number))),
                                            api_name="/predict_number")
    assert "Number: 42" in message and 'id="number-reading-image"' in reading
    assert "Prediction: 7" in client_predict(client, drawings[7])  # still serving


class RecordingPredictor:
    """A predictor stand-in that notes each file it is given (and whether it is there)."""

    def __init__(self):
        self.files: list[tuple[Path, bool]] = []

    def predict(self, image):
        self.files.append((Path(image), Path(image).is_file()))
        raise ImageError(f"{image}: not read (a test stand-in)")


def test_uploads_are_deleted_from_the_server(monkeypatch, tmp_path):
    from gradio_client import Client, handle_file

    frequency, age = app.DELETE_CACHE
    assert frequency + age <= 600, "an upload may stay on the server for over ten minutes"
    monkeypatch.setattr(app, "DELETE_CACHE", (1, 5))  # the same sweep, in seconds
    recorder = RecordingPredictor()
    demo = app.build_app(recorder)
    port = free_port()
    app.launch(demo, "127.0.0.1", port, block=False)
    try:
        photo = tmp_path / "seven.png"
        Image.fromarray(draw(7)).save(photo)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.predict(handle_file(str(photo)), api_name="/predict_upload")
        [(uploaded, was_there)] = recorder.files
        assert was_there and uploaded != photo  # the app read Gradio's copy on the server
        deadline = time.monotonic() + 30
        while uploaded.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not uploaded.exists(), f"{uploaded} was not deleted"
    finally:
        demo.close()


def test_load_200_predictions_from_8_clients_all_correct(served_app, drawings, capsys):
    from gradio_client import Client

    requests, workers = 200, 8
    digits = [sorted(STROKES)[i % len(STROKES)] for i in range(requests)]

    def client_session(worker: int) -> list[tuple[int, str, float]]:
        """One client, used by one thread, sending its share of the requests one by one."""
        client = Client(served_app, verbose=False)
        answers = []
        for digit in digits[worker::workers]:
            start = time.perf_counter()
            message = client_predict(client, drawings[digit])
            answers.append((digit, message, time.perf_counter() - start))
        return answers

    with ThreadPoolExecutor(workers) as pool:
        results = [answer for answers in pool.map(client_session, range(workers))
                   for answer in answers]
    assert len(results) == requests
    wrong = [(digit, message) for digit, message, _ in results
             if f"Prediction: {digit}" not in message]
    assert not wrong, f"{len(wrong)} of {requests} answers were wrong, e.g. {wrong[:3]}"
    seconds = np.array([elapsed for _, _, elapsed in results])
    with capsys.disabled():
        print(f"\nload test: {requests} predictions from {workers} clients, latency "
              f"p50 {np.percentile(seconds, 50) * 1000:.0f} ms, "
              f"p95 {np.percentile(seconds, 95) * 1000:.0f} ms, "
              f"max {seconds.max() * 1000:.0f} ms")


def test_cli_serves_the_demo_on_loopback(demo_model):
    """`python -m digitlab app` (what `make app` runs) loads the model and serves on 127.0.0.1."""
    import subprocess
    import sys
    import urllib.request

    port = free_port()
    command = [sys.executable, "-m", "digitlab", "app", "--model", str(demo_model),
               "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    assert page.status == 200 and "digitlab" in page.read().decode()
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read()
                    raise AssertionError(f"the app did not start:\n{output}") from None
                time.sleep(1)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}" in output
