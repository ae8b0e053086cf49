"""Figures for people's own images: each preprocessing step, and what the model made of it."""

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from digitlab.images.preprocess import Prepared
from digitlab.serve.predict import Prediction


def show_step(ax: plt.Axes, name: str, image: np.ndarray) -> None:
    """One step image: colour as is, ink maps bright on black, others in gray."""
    ax.axis("off")
    ax.set_title(name, fontsize=8)
    if image.ndim == 3:
        ax.imshow(np.clip(image, 0, 1))
    elif name == "grayscale" or name == "background":
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(image, cmap="gray", vmin=0, vmax=max(float(image.max()), 1e-6))


def plot_steps(prepared: Prepared, prediction: Prediction, title: str) -> plt.Figure:
    """One row: every preprocessing step, then the top-3 probabilities (or the reason)."""
    steps = list(prepared.steps.items())
    fig, axes = plt.subplots(1, len(steps) + 1, figsize=(2.0 * (len(steps) + 1), 2.4),
                             gridspec_kw={"width_ratios": [1] * len(steps) + [1.3]})
    for ax, (name, image) in zip(axes, steps, strict=False):
        show_step(ax, name, image)
    bars = axes[-1]
    if prediction.digit is None:
        bars.axis("off")
        bars.text(0, 0.5, (f"{prediction.reason}\n{prediction.detail or ''}").replace(": ", ":\n"),
                  fontsize=8, va="center", wrap=True)
    else:
        top = prediction.top(3)
        bars.barh([str(digit) for digit, _ in top][::-1], [p for _, p in top][::-1],
                  color=["#bbb", "#bbb", "tab:green" if not prediction.low_confidence
                         else "tab:orange"])
        bars.set_xlim(0, 1)
        bars.set_title(f"predicted {prediction.digit} ({prediction.confidence:.0%})"
                       + (", unsure" if prediction.low_confidence else ""), fontsize=8)
        bars.tick_params(labelsize=8)
    fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    fig.tight_layout()
    return fig


def plot_model_inputs(originals: list[np.ndarray | Image.Image], predictions: list[Prediction],
                 names: list[str], labels: list[int | None], columns: int = 6,
                 title: str = "Every image in data/custom/ and the 28x28 input the model saw"
                 ) -> plt.Figure:
    """Every image (an array in 0..1 or a PIL image) with the model input beside it; the title
    says predicted vs expected."""
    rows = int(np.ceil(len(originals) / columns))
    fig, axes = plt.subplots(rows, 2 * columns, figsize=(2.2 * columns, 1.35 * rows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for number, (original, prediction, name, label) in enumerate(
            zip(originals, predictions, names, labels, strict=True)):
        left, right = axes[number // columns][2 * (number % columns): 2 * (number % columns) + 2]
        if isinstance(original, Image.Image):
            original = np.asarray(original.convert("RGB"), np.float32) / 255
        show_step(left, name[:18], original)
        guess = "none" if prediction.digit is None else str(prediction.digit)
        wrong = label is not None and prediction.digit != label
        if prediction.model_input is not None:
            right.imshow(prediction.model_input, cmap="gray", vmin=0, vmax=1)
        right.set_title(f"→ {guess}" + (f" (is {label})" if wrong else ""), fontsize=8,
                        color="tab:red" if wrong else "black")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_accuracy_by_kind(results: dict) -> plt.Figure:
    """Bars per degradation kind for each pipeline, from benchmarks/results/custom_images.json."""
    kinds = list(results["kinds"])
    pipelines = [name for name in results["kinds"][kinds[0]] if name != "images"]
    fig, ax = plt.subplots(figsize=(10, 3.5))
    width = 0.8 / len(pipelines)
    for number, name in enumerate(pipelines):
        values = [results["kinds"][kind][name] for kind in kinds]
        ax.bar(np.arange(len(kinds)) + (number - (len(pipelines) - 1) / 2) * width, values,
               width, label=name)
    ax.set_xticks(np.arange(len(kinds)), kinds, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.axhline(0.1, color="gray", lw=0.8, ls=":")
    ax.legend(fontsize=8)
    ax.set_title(f"Synthetic real-world set ({results['images']} images): accuracy per kind")
    return fig


def plot_real_accuracy(summary: dict) -> plt.Figure:
    """Bars per kind and size band, naive against digitlab, from benchmarks/real_images.py's
    saved summary (no image of the set is shown)."""
    groups = [("all", "all", summary["all"])]
    for group in ("kind", "size"):
        groups += [(group, name, values) for name, values in summary[group].items()]
    names = [name if group == "all" else f"{group}: {name}\n({values['images']})"
             for group, name, values in groups]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    positions = np.arange(len(groups))
    for offset, pipeline in ((-0.2, "naive"), (0.2, "digitlab")):
        ax.bar(positions + offset, [values[pipeline] for *_, values in groups], 0.4,
               label=pipeline)
    ax.set_xticks(positions, names, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.axhline(0.1, color="gray", lw=0.8, ls=":")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"Real handwritten digits ({summary['all']['images']}): accuracy")
    return fig


def logit(scores: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), the scores clipped away from 0 and 1 first."""
    clipped = np.clip(scores, 1e-4, 1 - 1e-4)
    return np.log(clipped / (1 - clipped))


def rejection_curve(digits: np.ndarray, non_digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every threshold on a score: the share of digits and of non-digits below it."""
    thresholds = np.unique(np.concatenate([digits, non_digits, [np.inf]]))
    return (np.searchsorted(np.sort(digits), thresholds) / len(digits),
            np.searchsorted(np.sort(non_digits), thresholds) / len(non_digits))


def plot_digit_check(results: dict) -> plt.Figure:
    """The digit check, from benchmarks/not_digits.py's saved scores: the digit-likeness of
    digits and non-digits, the ROC of telling them apart (beside the digit model's top
    probability), and accuracy against coverage as the threshold moves."""
    sets = results["sets"]
    digit_set = next((name for name in sets if name.startswith("real_digits")),
                     "MNIST test digits")
    non_digit_sets = [name for name in sets if name.startswith(("not_digits", "generated, all"))]
    threshold = results["check"]["threshold"]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(14, 4))
    # On a logit axis: the scores crowd at 0 and 1, and the threshold is small.
    ticks = np.array([0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999])
    bins = np.linspace(-8, 8, 49)
    for name in [digit_set, *non_digit_sets]:
        left.hist(logit(np.array(sets[name]["digit_likeness"])), bins, histtype="step",
                  density=True, lw=1.5, label=name)
    left.axvline(logit(np.array([threshold]))[0], color="black", ls="--", lw=1,
                 label=f"threshold {threshold:.3f}")
    left.set_xticks(logit(ticks), [f"{tick:g}" for tick in ticks], fontsize=7)
    left.set_yscale("log")
    left.set_xlabel("digit-likeness (logit scale)")
    left.set_title("Scores")
    left.legend(fontsize=7)
    non_digits = {key: np.concatenate([sets[name][key] for name in non_digit_sets])
                  for key in ("digit_likeness", "top_probability")}
    for key, label in (("digit_likeness", "digit check"), ("top_probability",
                                                            "top probability (softmax)")):
        digits_below, non_digits_below = rejection_curve(np.array(sets[digit_set][key]),
                                                         non_digits[key])
        middle.plot(digits_below, non_digits_below, label=label)
    middle.set_xscale("symlog", linthresh=0.001)
    middle.set_xlim(0, 1)
    middle.set_xlabel(f"digits wrongly rejected ({digit_set})")
    middle.set_ylabel("non-digits rejected")
    middle.set_title("ROC: non-digits against real digits")
    middle.legend(fontsize=7)
    for name in dict.fromkeys([digit_set, "MNIST test digits"]):
        scores = np.array(sets[name]["digit_likeness"])
        right_answers = np.array(sets[name]["right_answer"])
        order = np.argsort(-scores)
        kept = np.arange(1, len(order) + 1)
        right.plot(kept / len(order), np.cumsum(right_answers[order]) / kept, label=name)
        accepted = scores >= threshold
        right.plot(accepted.mean(), right_answers[accepted].mean(), "o", color="black")
    right.set_xlim(0.8, 1.0)
    right.set_ylim(0.95, 1.0)
    right.set_xlabel("coverage (share answered)")
    right.set_ylabel("accuracy of the answered")
    right.set_title("Coverage and accuracy (dot: the threshold)")
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig
