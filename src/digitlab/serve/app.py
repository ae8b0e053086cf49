"""The draw-a-digit web demo: a Gradio app around the same Predictor as `digitlab predict`.
It reads one digit (the Draw tab), a number (the Number tab) or a photo of either (Upload).

Start it with `python -m digitlab app` (or `make app`) and open http://127.0.0.1:7860.
The predict functions below take plain values and return plain values, so they are
tested without a server.
"""

import argparse
import base64
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from digitlab.errors import DigitlabError
from digitlab.images import reading
from digitlab.images.segment import SEVERAL_DIGITS
from digitlab.numbers.read import NumberRead

DEFAULT_HOST = "127.0.0.1"  # loopback: nobody else on the network sees the demo unless asked
DEFAULT_PORT = 7860
PREVIEW_SCALE = 7  # show the 28x28 model input 7x larger, pixels kept sharp
MODEL_INPUT_EMPTY = "<p>The 28×28 image the model sees appears here.</p>"
CANVAS_SIZE = (336, 336)  # Gradio zooms it to fit its box: about 75% on a 390-px phone
BRUSH_SIZE = 18  # about MNIST's stroke width relative to the canvas
# Three digit-sized squares side by side (a longer number is written smaller); Gradio zooms it
# to fit its box as it does the Draw tab's canvas: about 37% on a 390-px phone.
NUMBER_CANVAS_SIZE = (672, 224)
NUMBER_BRUSH_SIZE = BRUSH_SIZE * NUMBER_CANVAS_SIZE[1] // CANVAS_SIZE[1]  # as thick per digit
UPLOAD_PREVIEW_SIZE = 336  # long side, in pixels, of the uploaded picture shown back
READING_SIZE = 672  # long side of a photo of a number shown with its boxes: a digit stays legible
SURE_COLOUR, UNSURE_COLOUR = "#1a9641", "#e66101"  # green: trust the digit; orange: check it
# Every minute, delete the uploads (photos, and each drawing the browser sends) older than five
# minutes: nothing piles up in Gradio's temp folder, and a queued request still finds its file.
DELETE_CACHE = (60, 300)  # (how often, how old) in seconds, as gr.Blocks takes them
DRAW_A_DIGIT = "### Draw a digit\nThe prediction appears as soon as you lift the mouse."
WRITE_A_NUMBER = "### Write a number\nThe reading appears as soon as you lift the mouse."
UPLOAD_A_PHOTO = "### Upload a photo of one digit or a number"
# A sketchpad opens with no tool chosen, and its clear button unchooses the brush: pick the
# brush so the next stroke draws. A moment after the event (the clear switches tools after it
# is announced; a tab draws its sketchpad only once chosen), then again until the brush shows
# as chosen.
SELECT_BRUSH_JS = """() => {
  const pick = (tries) => {
    const brush = document.querySelector('#ELEMENT_ID button[aria-label="Brush"]');
    if (brush && brush.classList.contains('highlight')) { return; }
    if (brush) { brush.click(); }
    if (tries > 0) { setTimeout(() => pick(tries - 1), 250); }
  };
  setTimeout(() => pick(40), 100);
}"""
# What an error message must not show users: a Python object's repr (Pillow names the buffer it
# read, `<_io.BytesIO object at 0x7f…>`) and the folders of a path on the server.
OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")
SERVER_FOLDERS = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"<>]+/)+")
EMPTY_PROBABILITIES = pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": 0.0})

# message, probabilities, the model input, the picture with each digit's box (a number)
Shown = tuple[str, pd.DataFrame, np.ndarray | None, np.ndarray | None]


def select_brush_js(element_id: str) -> str:
    """The page script that chooses the brush of the sketchpad with this elem_id."""
    return SELECT_BRUSH_JS.replace("ELEMENT_ID", element_id)


def sketch_image(value) -> np.ndarray | None:
    """The drawing in a Sketchpad value (its composite), or None when nothing is drawn.

    Args:
        value: what `gr.Sketchpad(type="numpy")` passes: a dict with "composite" (h, w, 4)
            uint8 RGBA, transparent where nothing is drawn; or an array; or None.
    """
    if isinstance(value, dict):
        value = value.get("composite")
    if value is None:
        return None
    array = np.asarray(value)
    if array.size == 0:
        return None
    if array.ndim == 3 and array.shape[-1] == 4 and not array[..., 3].any():
        return None  # a fully transparent canvas: nothing drawn yet
    if array.min() == array.max():
        return None  # a uniform canvas: nothing drawn either
    return array


def as_pixels(model_input: np.ndarray | None) -> np.ndarray | None:
    """The (28, 28) float model input in 0..1 as a (28, 28) uint8 image."""
    if model_input is None:
        return None
    return (np.clip(np.squeeze(model_input), 0, 1) * 255).round().astype(np.uint8)


def data_url(pixels: np.ndarray, image_format: str = "PNG") -> str:
    """A (h, w) or (h, w, 3) uint8 image as a data URL, to show inline.

    Inline, not a cached file: Gradio rewrites a cached file in place when two answers are the
    same image, which breaks a download of it that is still running.
    """
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format, quality=90)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/{image_format.lower()};base64,{data}"


def model_input_html(pixels: np.ndarray | None) -> str:
    """An <img> of the model input, enlarged by the browser with sharp pixels (inline)."""
    if pixels is None:
        return MODEL_INPUT_EMPTY
    size = 28 * PREVIEW_SCALE
    return (f'<img id="model-input-image" alt="the 28x28 image the model sees" width="{size}" '
            f'height="{size}" style="image-rendering: pixelated; border: 1px solid #888; '
            f'max-width: 100%; height: auto" src="{data_url(pixels)}">')


def public_message(error: Exception, source_name: str, shown_name: str) -> str:
    """The error's text as users may see it: `shown_name` wherever it names the image.

    Args:
        source_name: how the error names the image (`reading.describe`: the server-side path
            of an upload, `<array …>` for a drawing).
        shown_name: what users know it as: the uploaded file's own name, "the drawing".
    """
    text = OBJECT_REPR.sub(shown_name, str(error).replace(source_name, shown_name))
    return SERVER_FOLDERS.sub("", text)  # any other path: its file name only


def upload_picture(path: str | Path, size: int) -> np.ndarray:
    """The uploaded picture as it is shown, upright, long side at most `size`: (h, w, 3) uint8.
    Raises ImageError when it cannot be read."""
    gray, color, _ = reading.load(Path(path), size, with_color=True)
    shown = gray[..., np.newaxis] if color is None else color  # color is None only if not asked
    pixels = (np.clip(shown, 0, 1) * 255).round().astype(np.uint8)
    return np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels


def picture_html(pixels: np.ndarray, element_id: str, alt: str) -> str:
    """An <img> of a picture, inline (as `model_input_html`), no wider than the page."""
    return (f'<img id="{element_id}" alt="{alt}" style="max-width: 100%; height: auto; '
            f'border: 1px solid #888" src="{data_url(pixels, "JPEG")}">')


def upload_preview_html(path: str | Path | None) -> str:
    """An <img> of the uploaded picture, upright and shrunk; "" when none or unreadable.

    Made from the pixels the app reads: a browser does not show every format the app reads
    (TIFF), and the upload itself is deleted (DELETE_CACHE).
    """
    if path is None:
        return ""
    try:
        pixels = upload_picture(path, UPLOAD_PREVIEW_SIZE)
    except DigitlabError:
        return ""  # the message says what was wrong
    return picture_html(pixels, "upload-preview-image", "the uploaded picture")


def canvas_picture(drawing: np.ndarray) -> np.ndarray:
    """A sketchpad's drawing as the user sees it: (h, w, 3) uint8, its strokes on white."""
    if drawing.ndim == 2:
        drawing = drawing[..., np.newaxis]
    if drawing.shape[-1] in (2, 4):  # see-through where nothing is drawn: the page is white
        alpha = drawing[..., -1:].astype(np.float32) / 255
        drawing = drawing[..., :-1] * alpha + 255 * (1 - alpha)
    pixels = np.asarray(drawing).round().astype(np.uint8)
    return np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels


def boxed_picture(picture: np.ndarray, number: NumberRead, scale: float = 1.0) -> np.ndarray:
    """The picture with each digit's box and answer drawn over it, green when sure, else orange.

    Args:
        picture: (h, w, 3) uint8.
        scale: picture pixels per image pixel (the boxes are in the image's pixels).
    """
    image = Image.fromarray(picture)
    pen = ImageDraw.Draw(image)
    line = max(2, round(max(image.size) / 250))  # 3 px on a 672-px picture
    font = ImageFont.load_default(size=max(14, round(max(image.size) / 30)))
    for digit in number.digits:
        x0, y0, x1, y1 = (round(value * scale) for value in digit.box)
        colour = SURE_COLOUR if number.is_sure(digit) else UNSURE_COLOUR
        x0, y0, x1, y1 = x0 - line, y0 - line, x1 + line, y1 + line  # around the ink, not on it
        pen.rectangle((x0, y0, x1, y1), outline=colour, width=line)
        label = str(digit.digit)
        _, _, label_width, label_height = pen.textbbox((0, 0), label, font=font)
        top = max(0, y0 - label_height - 2 * line)  # above the box, or over it at the top
        pen.rectangle((x0, top, x0 + label_width + 2 * line, top + label_height + 2 * line),
                      fill=colour)
        pen.text((x0 + line, top + line), label, fill="white", font=font)
    return np.asarray(image)


def number_message(number: NumberRead) -> str:
    """What the page says about a number read: the number, then each digit's confidence."""
    if not number.digits:
        return "### No digits found\n\nWrite the digits bigger or darker."
    each = ", ".join(f"{digit.digit} ({digit.confidence:.0%})" for digit in number.digits)
    count = f"{len(number.digits)} digit{'s' if len(number.digits) > 1 else ''}"
    message = f"## Number: {number.number}\n\n{count}: {each}"
    if not number.sure:
        message += (" — not sure of the orange ones: unclear, or not digits "
                    "(a letter, a symbol, a doodle?).")
    return message


def show_number(number: NumberRead, picture: np.ndarray, scale: float) -> Shown:
    """What the page shows for a number: the digits read, and `picture` with their boxes."""
    return (number_message(number), EMPTY_PROBABILITIES, None,
            boxed_picture(picture, number, scale))


def show(prediction, no_digit: str) -> Shown:
    """What the page shows for one Prediction: a message, the ten probabilities, the input."""
    if prediction.digit is None and prediction.digit_likeness is not None:
        return (f"### That does not look like a digit\n\n({prediction.detail}: a letter, a "
                "symbol, a doodle?)", EMPTY_PROBABILITIES, as_pixels(prediction.model_input),
                None)
    if prediction.digit is None:
        heading = no_digit
        if prediction.reason == SEVERAL_DIGITS:
            heading = "### Several digits\n\nThe Number tab reads numbers."
        return (f"{heading}\n\n({prediction.detail or prediction.reason})", EMPTY_PROBABILITIES,
                as_pixels(prediction.model_input), None)
    message = f"## Prediction: {prediction.digit}\n\nconfidence {prediction.confidence:.1%}"
    if prediction.low_confidence:
        message += (" — not sure: the drawing may be unclear, or not a digit. "
                    f"{prediction.reason or ''}").rstrip()
    probabilities = pd.DataFrame({"digit": [str(d) for d in range(10)],
                                  "probability": np.round(prediction.probabilities, 4)})
    return message, probabilities, as_pixels(prediction.model_input), None


def predict_drawing(predictor, value) -> Shown:
    """Predict the digit drawn on the sketchpad; an empty canvas asks for a drawing."""
    drawing = sketch_image(value)
    if drawing is None:
        return DRAW_A_DIGIT, EMPTY_PROBABILITIES, None, None
    try:
        return show(predictor.predict(drawing), DRAW_A_DIGIT)
    except DigitlabError as error:
        message = public_message(error, reading.describe(drawing), "the drawing")
        return f"### Cannot use this drawing\n\n{message}", EMPTY_PROBABILITIES, None, None


def predict_number(predictor, value) -> Shown:
    """Read the number written on the wide sketchpad, with each digit's box drawn over the
    drawing; an empty canvas asks for a number."""
    drawing = sketch_image(value)
    if drawing is None:
        return WRITE_A_NUMBER, EMPTY_PROBABILITIES, None, None
    try:
        number = predictor.read_number(drawing)
        return show_number(number, canvas_picture(drawing), 1.0)
    except DigitlabError as error:
        message = public_message(error, reading.describe(drawing), "the drawing")
        return f"### Cannot use this drawing\n\n{message}", EMPTY_PROBABILITIES, None, None


def predict_upload(predictor, path: str | Path | None) -> Shown:
    """Predict the digit in an uploaded image file, or read the number when it holds several
    (with each digit's box drawn over the picture); an unreadable file gets a clear message,
    which names the file by its own name, never by its path on the server."""
    if path is None:
        return UPLOAD_A_PHOTO, EMPTY_PROBABILITIES, None, None
    path = Path(path)
    try:
        prediction = predictor.predict(path)
        if prediction.number_read is None:  # not several digits
            return show(prediction, "### No digit found in this picture")
        picture = upload_picture(path, READING_SIZE)
        side = reading.long_side(path) or max(picture.shape[:2])
        return show_number(prediction.number_read, picture, max(picture.shape[:2]) / side)
    except DigitlabError as error:
        message = public_message(error, reading.describe(path), path.name)
        return (f"### Cannot read {path.name}\n\n{message}\n\nTry a PNG or JPEG photo of one "
                "digit or a number.", EMPTY_PROBABILITIES, None, None)


def black_pen_sketchpad(gr, label: str, size: tuple[int, int], brush: int, elem_id: str):
    """A fixed-size sketchpad drawn on with one black brush, its value an RGBA array."""
    return gr.Sketchpad(label=label, type="numpy", image_mode="RGBA", canvas_size=size,
                        fixed_canvas=True, layers=False, transforms=(), elem_id=elem_id,
                        brush=gr.Brush(default_size=brush, colors=["#000000"],
                                       color_mode="fixed"))


def build_app(predictor):
    """The Gradio Blocks of the demo around one loaded `digitlab.serve.predict.Predictor`."""
    import gradio as gr

    with gr.Blocks(title="digitlab: draw a digit", analytics_enabled=False,
                   delete_cache=DELETE_CACHE) as demo:
        gr.Markdown("# digitlab: draw a digit\nA CNN trained on MNIST reads your handwriting: "
                    "a digit, or a number digit by digit. It sees only 28×28 images (a digit's "
                    "on the right), made by the same steps as `python -m digitlab predict`.")
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Tabs():
                    with gr.Tab("Draw", id="draw") as draw_tab:
                        sketchpad = black_pen_sketchpad(gr, "Draw one digit", CANVAS_SIZE,
                                                        BRUSH_SIZE, "sketchpad")
                    with gr.Tab("Number", id="number") as number_tab:
                        number_sketchpad = black_pen_sketchpad(
                            gr, "Write a number", NUMBER_CANVAS_SIZE, NUMBER_BRUSH_SIZE,
                            "number-sketchpad")
                        number_reading = gr.HTML("", elem_id="number-reading")
                    with gr.Tab("Upload", id="upload"):
                        upload = gr.File(label="A photo or scan of one digit or a number",
                                         type="filepath", file_types=["image"], elem_id="upload")
                        upload_preview = gr.HTML("", elem_id="upload-preview")
            with gr.Column(scale=2):
                message = gr.Markdown(DRAW_A_DIGIT, elem_id="prediction")
                gr.Markdown("What the model sees (28×28):")
                model_input = gr.HTML(MODEL_INPUT_EMPTY, elem_id="model-input")
        probabilities = gr.BarPlot(EMPTY_PROBABILITIES, x="digit", y="probability",
                                   y_lim=[0, 1], sort="x", height=260,
                                   label="Probability of each digit",
                                   elem_id="probabilities")
        outputs = [message, probabilities, model_input]

        def on_draw(value):
            message_text, chart, pixels, _ = predict_drawing(predictor, value)
            return message_text, chart, model_input_html(pixels)

        def on_number(value):
            message_text, chart, pixels, boxed = predict_number(predictor, value)
            reading_html = "" if boxed is None else picture_html(
                boxed, "number-reading-image", "the number with each digit's box")
            return message_text, chart, model_input_html(pixels), reading_html

        def on_upload(path):
            message_text, chart, pixels, boxed = predict_upload(predictor, path)
            preview = upload_preview_html(path) if boxed is None else picture_html(
                boxed, "upload-preview-image", "the uploaded picture with each digit's box")
            return message_text, chart, model_input_html(pixels), preview

        for pad, tab in ((sketchpad, draw_tab), (number_sketchpad, number_tab)):
            tab.select(None, js=select_brush_js(pad.elem_id))  # drawn anew when chosen
            pad.clear(None, js=select_brush_js(pad.elem_id))
        demo.load(None, js=select_brush_js(sketchpad.elem_id))
        # A tab chosen again: the answer beside it is its drawing's, or what to draw there.
        draw_tab.select(on_draw, sketchpad, outputs, show_progress="hidden",
                        api_visibility="private")
        number_tab.select(on_number, number_sketchpad, [*outputs, number_reading],
                          show_progress="hidden", api_visibility="private")
        sketchpad.change(on_draw, sketchpad, outputs, api_name="predict_drawing",
                         show_progress="hidden", trigger_mode="always_last")
        number_sketchpad.change(on_number, number_sketchpad, [*outputs, number_reading],
                                api_name="predict_number", show_progress="hidden",
                                trigger_mode="always_last")
        upload.change(on_upload, upload, [*outputs, upload_preview], api_name="predict_upload",
                      show_progress="minimal")
    return demo


def launch(demo, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, block: bool = True):
    """Serve the demo on host:port: no share link, no browser tab; `block=False` returns."""
    return demo.launch(server_name=host, server_port=port, share=False, inbrowser=False,
                       footer_links=["api"], quiet=True, prevent_thread_lock=not block)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m digitlab app",
                                     description="Start the draw-a-digit web demo.")
    parser.add_argument("--model", type=Path, default=None,
                        help="model file: .keras, .tflite or .onnx (default: models/cnn.keras)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to serve on (default {DEFAULT_HOST}: this machine only; "
                             "0.0.0.0 opens it to the network)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT})")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Load the model once, then serve the demo until interrupted."""
    args = build_parser().parse_args(argv)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no telemetry, no version check
    from digitlab.serve.predict import Predictor

    predictor = Predictor(args.model)
    demo = build_app(predictor)
    print(f"digitlab demo on http://{args.host}:{args.port} (Ctrl+C stops it)")
    launch(demo, args.host, args.port)
    return 0
