"""Recognise digits in image files: load a model once, predict one or many images.

    python -m digitlab predict [--model PATH] IMAGE_OR_FOLDER [...]

prints one JSON object per image, one per line, in input order:
`{"path": ..., "digit": 7, "confidence": 0.998, "probabilities": [10 floats],
"low_confidence": false, "digit_likeness": 0.97, "number": "7", "digits": [{"digit": 7,
"confidence": 0.998, "box": [x0, y0, x1, y1]}]}` (box in image pixels). An image with no digit
gives `"digit": null`, a `"reason"` and a `"detail"`: the reason is "several digits" for a
number (digits side by side, or a picture that is no digit as a whole but reads as a line of
sure digits, not all 1s, twice as long as high), whose digits are then in `number` (numbers
apart by one space, in reading order) and `digits`; else "not a digit" (a letter, a symbol, a
doodle, noise, a blank page: the detail says what was seen, e.g. a `digit_likeness` below the
digit check's threshold, or "no digit found: only specks"), with `number` "" and `digits` [].
An unreadable file gives `"digit": null` and an `"error"` (also said on stderr). A folder stands
for its image files. Exit status 0 when every file was read, 1 when any could not be, 2 when
nothing could be tried (no such folder, a bad model: said on stderr).
"""

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitlab import config
from digitlab.errors import ImageError
from digitlab.images.preprocess import Prepared, prepare
from digitlab.images.reading import IMAGE_SUFFIXES, ImageSource, image_files
from digitlab.images.segment import SEVERAL_DIGITS
from digitlab.numbers import touching
from digitlab.numbers.read import NumberRead, read_number
from digitlab.serve.digit_check import NOT_A_DIGIT, DigitCheck, kept_rows
from digitlab.serve.runtimes import load_runner, predict_in_batches

LOW_CONFIDENCE = 0.8  # below this the top probability is flagged as unsure
# A picture that is no digit as a whole is still a number when the number reader reads two or
# more sure digits, not all 1s, along a line this many times longer than it is high (three
# digits or more, or two well apart). Shorter readings were mostly letters and symbols read as
# digits, and a reading of 1s alone mostly strokes (a letter's, a symbol's) read as 1s. Chosen
# on numbers composed from MNIST validation digits and the development non-digits (README).
NUMBER_SPAN = 2.0


@dataclass
class Prediction:
    """What the model made of one image."""

    digit: int | None  # None: no digit (see `reason` and `detail`)
    confidence: float = 0.0  # probability of `digit`
    probabilities: list[float] | None = None  # all ten, digit 0 first
    low_confidence: bool = False  # confidence below LOW_CONFIDENCE
    reason: str | None = None  # NOT_A_DIGIT or SEVERAL_DIGITS when `digit` is None
    model_input: np.ndarray | None = None  # the (28, 28) image the model saw
    digit_likeness: float | None = None  # the digit check's score; None: no ink found
    detail: str | None = None  # what was seen, when `digit` is None
    number: str = ""  # the digits read (numbers apart by one space); "" when none
    digits: list[dict] = field(default_factory=list)  # each: digit, confidence, box
    number_read: NumberRead | None = None  # the whole reading, when it holds several digits

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The k most likely digits with their probabilities, most likely first."""
        if self.probabilities is None:
            return []
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(int(digit), float(self.probabilities[digit])) for digit in order]


def longest_span(reading: NumberRead) -> float:
    """How many times longer than it is high the longest line of a reading is (its digits'
    boxes together; upright or sideways alike)."""
    spans = []
    for line in (line for line in reading.lines if line):
        boxes = np.array([digit.box for digit in line])
        width = boxes[:, 2].max() - boxes[:, 0].min()
        height = boxes[:, 3].max() - boxes[:, 1].min()
        spans.append(max(width, height) / max(1, min(width, height)))
    return float(max(spans, default=0.0))


def plausible_number(reading: NumberRead) -> bool:
    """Is the number reader's reading of a picture that is no digit as a whole a number: two
    or more digits, every one sure, not all 1s, along a line NUMBER_SPAN times longer than
    high?"""
    return (len(reading.digits) >= 2 and reading.sure
            and {digit.digit for digit in reading.digits} != {1}
            and longest_span(reading) >= NUMBER_SPAN)


def default_model_path() -> Path:
    """The CNN trained by notebook 04: `models/cnn.keras` (in DIGITLAB_OUTPUT_DIR if set)."""
    return config.MODELS_DIR / "cnn.keras"


def available_model() -> Path | None:
    """The CNN to use: this run's `models/cnn.keras` first, then the committed one, else None."""
    return config.saved_model("cnn.keras")


class Predictor:
    """Loads a model once; turns images into `Prediction`s."""

    def __init__(self, model_path: str | Path | None = None,
                 check_path: str | Path | None = None,
                 touching_path: str | Path | None = None):
        self.model_path = Path(model_path) if model_path else default_model_path()
        self.run = load_runner(self.model_path)
        self.check = DigitCheck.load(check_path)
        self.touching_path = touching.default_path() if touching_path is None else Path(
            touching_path)  # None where there is none: touching digits are then cut apart
        self.touching = touching.load(self.touching_path) if self.touching_path else None

    def predict(self, image: ImageSource) -> Prediction:
        """Predict the digit in one image. Raises ImageError when it cannot be read."""
        return self.predict_many([image])[0]

    def predict_many(self, images: Iterable[ImageSource]) -> list[Prediction]:
        """Predict every image, in order, in batches. Raises ImageError on the first bad one.
        An image of several digits is read as a number (`number`, `digits`); so is one that
        is not a digit as a whole but whose reading is a `plausible_number`: preparing a
        picture as one digit misses some numbers (digits written into each other, thin strokes
        broken into specks)."""
        sources = list(images)
        results = self.predict_prepared([prepare(image) for image in sources])
        for source, result in zip(sources, results, strict=True):
            if result.reason not in (SEVERAL_DIGITS, NOT_A_DIGIT):
                continue
            reading = self.read_number(source)
            if result.reason == NOT_A_DIGIT:
                if not plausible_number(reading):
                    continue
                result.reason = SEVERAL_DIGITS
                result.detail = f"read as a number; as one digit: {result.detail}"
            result.number_read, result.number = reading, reading.number
            result.digits = [{"digit": d.digit, "confidence": round(d.confidence, 6),
                              "box": d.box} for d in reading.digits]
        return results

    def touching_provenance(self) -> dict | None:
        """What a results file records of the touching-digits network: its file and SHA-256
        (None when there is none)."""
        if self.touching_path is None:
            return None
        from digitlab.provenance import file_sha256

        return {"model": self.touching_path.name,
                "model_sha256": file_sha256(self.touching_path)}

    def read_number(self, source: ImageSource) -> NumberRead:
        """Read the number(s) in a picture (`numbers.read.read_number`) with this predictor's
        model, digit check and touching-digits network."""
        return read_number(source, self.classify, self.check.threshold, self.touching)

    def classify(self, model_inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 28, 28) model inputs -> (n, 10) probabilities and (n,) digit-likeness."""
        return self.probabilities(model_inputs), self.check.scores(model_inputs)

    def predict_prepared(self, prepared: list[Prepared]) -> list[Prediction]:
        """Predict images already run through `prepare` (e.g. with their steps kept).

        Where an image has alternative readings (the ink's polarity), the digit check picks the
        one that counts (`digit_check.reading_to_keep`), not the one the model is most confident
        about: the softmax is sure of anything. A reading the check scores below its threshold
        is answered "not a digit".
        """
        readings = [[item.model_input, *item.alternatives] if item.model_input is not None
                    else [] for item in prepared]
        inputs = [model_input for item in readings for model_input in item]
        if inputs:
            stacked = np.stack(inputs)
            probabilities, likeness = self.probabilities(stacked), self.check.scores(stacked)
            kept = iter(kept_rows(likeness, [len(item) for item in readings if item],
                                  [p.readings_even for p in prepared if p.model_input is not None]))
        results = []
        for item, choices in zip(prepared, readings, strict=True):
            if not choices:
                reason = SEVERAL_DIGITS if item.reason == SEVERAL_DIGITS else NOT_A_DIGIT
                results.append(Prediction(None, reason=reason, detail=item.reason))
                continue
            best = next(kept)
            row, score = probabilities[best], float(likeness[best])
            digit = int(np.argmax(row))
            confidence = float(row[digit])
            if score < self.check.threshold:
                detail = (f"digit-likeness {score:.3f}, below the digit check's "
                          f"threshold {self.check.threshold:.3f}")
                results.append(Prediction(None, confidence, [float(p) for p in row],
                                          confidence < LOW_CONFIDENCE, NOT_A_DIGIT,
                                          stacked[best], score, detail))
                continue
            results.append(Prediction(
                digit, confidence, [float(p) for p in row], confidence < LOW_CONFIDENCE, None,
                stacked[best], score, number=str(digit),
                digits=[{"digit": digit, "confidence": round(confidence, 6), "box": item.box}]))
        return results

    def probabilities(self, model_inputs: np.ndarray) -> np.ndarray:
        """(n, 28, 28) model inputs -> (n, 10) probabilities."""
        batch = model_inputs.astype(np.float32)[..., np.newaxis]
        return predict_in_batches(self.run, batch).astype(np.float64)


def to_json(path: str, prediction: Prediction | None, error: str | None = None) -> dict:
    """The CLI's JSON object for one image."""
    if error is not None or prediction is None:
        return {"path": path, "digit": None, "error": error, "number": "", "digits": []}
    record: dict = {"path": path, "digit": prediction.digit}
    if prediction.digit is None or prediction.probabilities is None:
        record["reason"] = prediction.reason
        record["detail"] = prediction.detail
        if prediction.digit_likeness is not None:
            record["digit_likeness"] = round(prediction.digit_likeness, 6)
        record.update(number=prediction.number, digits=prediction.digits)
        return record
    record["confidence"] = round(prediction.confidence, 6)
    record["probabilities"] = [round(p, 6) for p in prediction.probabilities]
    record["low_confidence"] = prediction.low_confidence
    record["digit_likeness"] = round(float(prediction.digit_likeness or 0.0), 6)
    record.update(number=prediction.number, digits=prediction.digits)
    return record


def main(argv: list[str] | None = None) -> int:
    """The `python -m digitlab predict` command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m digitlab predict", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a .keras, .tflite or .onnx model "
                                        "(default: models/cnn.keras)")
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files, or folders (their images, by name)")
    args = parser.parse_args(argv)
    paths = image_paths(args.images)  # a missing folder or file is said before the model loads
    predictor = Predictor(args.model)  # a bad model is a DigitlabError: cli.py reports it
    all_read = True
    for path in paths:
        try:
            record = to_json(path, predictor.predict(path))
        except ImageError as error:
            record = to_json(path, None, str(error))
            print(f"error: {error}", file=sys.stderr)
            all_read = False
        print(json.dumps(record), flush=True)
    return 0 if all_read else 1


def image_paths(arguments: list[str]) -> list[str]:
    """The command's images: each file as given, each folder's image files by name."""
    paths = []
    for argument in arguments:
        if Path(argument).is_dir():
            found = [str(path) for path in image_files(Path(argument))]
            if not found:
                raise ImageError(f"{argument}: a folder with no image files "
                                 f"({', '.join(sorted(IMAGE_SUFFIXES))}).")
            paths += found
        else:
            paths.append(argument)
    return paths


if __name__ == "__main__":
    sys.exit(main())
