"""Benchmark: milliseconds to preprocess and predict one image, the model loaded once.

Two cases from the digit check's issue: a 12-megapixel phone photo of a digit (JPEG bytes,
decoded every time) and a 280x280 canvas drawing (transparent PNG); targets <= 150 ms and
<= 10 ms on a 2-core machine. Two from the numbers issue, read as `predict` reads a picture of
several digits (`digitlab.numbers.read`): a 12-megapixel phone photo of an 8-digit number and a
1000x300 scan of one; targets <= 400 ms and <= 100 ms.

Run: .venv/bin/python benchmarks/predict_speed.py [--model PATH]
Writes benchmarks/results/predict_speed.json and predict_speed.txt.
"""

import argparse
import io
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digitlab import config
from digitlab.images import handwriting, synth
from digitlab.images.preprocess import prepare
from digitlab.provenance import file_sha256
from digitlab.serve.predict import Predictor

RESULTS_DIR = Path(__file__).resolve().parent / "results"
repeats = 100


def twelve_megapixel_photo() -> bytes:
    """A synthetic photo of a digit on paper blown up to 4000x3000, as a phone JPEG."""
    rng = np.random.default_rng(0)
    photo = synth.make_image(7, "photo_pen", rng).resize((4000, 3000), Image.Resampling.BICUBIC)
    noisy = np.asarray(photo, np.float32) + rng.normal(0, 4, (3000, 4000, 1))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def canvas_drawing() -> bytes:
    """A 280x280 transparent canvas with a mouse-drawn digit, as a web demo sends it."""
    buffer = io.BytesIO()
    synth.make_image(3, "canvas_black", np.random.default_rng(0)).save(buffer, "PNG")
    return buffer.getvalue()


NUMBER = "31415926"


def number_page(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """White paper of `size` (width, height) with NUMBER written across its middle by the
    handwriting generator's pen, as (h, w, 3) in 0..1."""
    width, height = size
    mask = handwriting.draw_number(NUMBER, "pen", height // 4, rng)
    mask = mask.resize((min(mask.width, width * 4 // 5), mask.height))
    page = np.ones((height, width, 3), np.float32)
    top, left = (height - mask.height) // 2, (width - mask.width) // 2
    ink = np.asarray(mask, np.float32)[..., np.newaxis] / 255
    page[top: top + mask.height, left: left + mask.width] -= 0.85 * ink
    return page


def number_photo() -> bytes:
    """A phone photo of NUMBER on paper: 4000x3000 JPEG."""
    rng = np.random.default_rng(0)
    page = number_page((1200, 900), rng)
    photo = synth.photograph(page * synth.lighting(900, 1200, rng, False), rng)
    buffer = io.BytesIO()
    photo.resize((4000, 3000), Image.Resampling.BICUBIC).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def number_scan() -> bytes:
    """A 1000x300 grayscale scan of NUMBER (PNG)."""
    rng = np.random.default_rng(1)
    page = number_page((1000, 300), rng)[..., 0] + rng.normal(0, 0.02, (300, 1000))
    buffer = io.BytesIO()
    Image.fromarray((np.clip(page, 0, 1) * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def milliseconds(function, repeats: int) -> list[float]:
    function()  # warm up (first call builds the model's graph, fills caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(config.MODELS_DIR / "cnn.keras"))
    args = parser.parse_args(argv)
    predictor = Predictor(args.model)
    cases = {"12 MP photo (4000x3000 JPEG)": (twelve_megapixel_photo(), 150),
             "280x280 canvas (RGBA PNG)": (canvas_drawing(), 10),
             f"12 MP photo of the number {NUMBER} (4000x3000 JPEG)": (number_photo(), 400),
             f"1000x300 scan of the number {NUMBER} (PNG)": (number_scan(), 100)}
    lines = [f"preprocess + predict, model {Path(args.model).name} loaded once, "
             f"{repeats} runs, {os.cpu_count()} CPU cores:"]
    results = {"model": Path(args.model).name, "model_sha256": file_sha256(args.model),
               "check": predictor.check.provenance(), "cpu_count": os.cpu_count(),
               "cases": {}}
    for name, (data, target) in cases.items():
        total = milliseconds(lambda data=data: predictor.predict(data), repeats)
        preprocessing = milliseconds(lambda data=data: prepare(data), repeats)
        median = statistics.median(total)
        answer = predictor.predict(data)
        results["cases"][name] = {
            "median_ms": round(median, 1), "best_ms": round(min(total), 1),
            "preprocess_median_ms": round(statistics.median(preprocessing), 1),
            "target_ms": target, "bytes": len(data), "read": answer.number}
        lines.append(f"  {name}: median {median:.1f} ms (best {min(total):.1f}, `prepare` "
                     f"alone {statistics.median(preprocessing):.1f}), target <= {target} ms: "
                     f"{'met' if median <= target else 'MISSED'}; read {answer.number!r}")
    text = "\n".join(lines)
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "predict_speed.txt").write_text(text + "\n")
    (RESULTS_DIR / "predict_speed.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
