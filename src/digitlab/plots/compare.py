"""Figures comparing models: confusion, per-class errors, galleries, calibration, robustness,
and one model in every exported format (notebook 07)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Rectangle

from digitlab.mnist.evaluate import Predictions
from digitlab.mnist.models import NUM_CLASSES
from digitlab.mnist.robustness import UNITS, transform

ERROR_COLOR = "#d62728"


def plot_confusion_matrices(matrices: dict[str, np.ndarray], normalized: bool) -> plt.Figure:
    """Confusion heatmaps side by side: errors coloured, correct answers on a green diagonal.

    Args:
        matrices: model name -> (10, 10) counts, or rows normalised to 1 if `normalized`.
    """
    fig, axes = plt.subplots(1, len(matrices), figsize=(6.2 * len(matrices), 5.4), squeeze=False)
    scale = 100 if normalized else 1
    diagonal = np.eye(NUM_CLASSES, dtype=bool)
    # One colour scale for all panels, so equal shades mean equal error rates.
    vmax = max(max(float(np.asarray(m)[~diagonal].max()) * scale for m in matrices.values()), 1e-9)
    for ax, (name, matrix) in zip(axes[0], matrices.items(), strict=True):
        values = np.asarray(matrix) * scale
        text = np.vectorize(lambda v: f"{v:.1f}" if normalized else f"{int(v)}")(values)
        text[(values == 0) & ~diagonal] = ""  # empty error cells stay empty: errors stand out
        # The diagonal holds ~99% of the images; colouring only errors keeps them visible.
        sns.heatmap(values, mask=diagonal, ax=ax, annot=text, fmt="", cmap="Reds", vmin=0,
                    vmax=vmax, square=True,
                    linewidths=0.3, linecolor="0.9", annot_kws={"fontsize": 7},
                    cbar_kws={"label": "% of true digit" if normalized else "images",
                              "shrink": 0.8})
        for digit in range(len(values)):
            ax.add_patch(Rectangle((digit, digit), 1, 1, facecolor="#d9f0d3", edgecolor="0.9"))
            ax.text(digit + 0.5, digit + 0.5, text[digit, digit], ha="center", va="center",
                    fontsize=7)
        ax.set_xlabel("predicted digit")
        ax.set_ylabel("true digit")
        ax.set_title(name.upper())
    kind = "% of each true digit" if normalized else "image counts"
    fig.suptitle(f"Confusion matrices ({kind}); green: correct, red: errors")
    fig.tight_layout()
    return fig


def plot_class_errors(reports: dict[str, pd.DataFrame]) -> plt.Figure:
    """Error rate (1 - recall) of every digit, models side by side."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    width = 0.8 / len(reports)
    for offset, (name, report) in enumerate(reports.items()):
        positions = report.index.to_numpy() - 0.4 + width * (offset + 0.5)
        ax.bar(positions, (1 - report["recall"]) * 100, width, label=name.upper())
    ax.set_xticks(range(10))
    ax.set_xlabel("true digit")
    ax.set_ylabel("misclassified (%)")
    ax.set_title("Which digits each model gets wrong")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    return fig


def plot_gallery(images: np.ndarray, indices: np.ndarray, captions: list[str], title: str,
                 columns: int = 10) -> plt.Figure:
    """Digits with a caption each (e.g. "7 → 1 97%"), `columns` per row."""
    count = max(len(indices), 1)
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.05, rows * 1.3), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, index, caption in zip(axes.ravel(), indices, captions, strict=False):
        ax.imshow(np.squeeze(images[index]), cmap="gray_r")
        ax.set_title(caption, fontsize=7.5)
    if len(indices) == 0:
        axes[0, 0].text(0, 0.5, "no images to show", fontsize=10)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_misclassified(images: np.ndarray, predictions: Predictions, indices: np.ndarray,
                       title: str, columns: int = 10) -> plt.Figure:
    """Misclassified digits captioned "true → predicted (confidence)"."""
    captions = [f"{predictions.labels[i]} → {predictions.predicted[i]} "
                f"({predictions.confidence[i]:.0%})" for i in indices]
    return plot_gallery(images, indices, captions, title, columns)


def plot_wrong_by_all(images: np.ndarray, results: dict[str, Predictions], indices: np.ndarray,
                      title: str, columns: int = 8) -> plt.Figure:
    """Digits several models get wrong, captioned with the true label and each prediction."""
    labels = next(iter(results.values())).labels
    captions = [f"true {labels[i]}\n" + " ".join(f"{name}:{result.predicted[i]}"
                                                  for name, result in results.items())
                for i in indices]
    return plot_gallery(images, indices, captions, title, columns)


def plot_prediction_grid(images: np.ndarray, predictions: Predictions, title: str,
                         side: int = 15) -> plt.Figure:
    """The first side×side digits with their predictions; errors framed in red with the truth.

    Drawn as one mosaic image on one axis: 225 separate axes take ~20x longer to render.
    """
    count = min(side * side, len(images))
    cell, pad, label_height = 28, 2, 10  # pixels: digit, gap, room for the caption above
    height, width = cell + pad + label_height, cell + pad
    mosaic = np.zeros((side * height, side * width))
    fig, ax = plt.subplots(figsize=(side * 0.72, side * 0.95))
    for index in range(count):
        row, column = divmod(index, side)
        top, left = row * height + label_height, column * width
        mosaic[top:top + cell, left:left + cell] = np.squeeze(images[index]) / 255.0 \
            if images.dtype == np.uint8 else np.squeeze(images[index])
        wrong = not predictions.correct[index]
        caption = f"{predictions.predicted[index]}"
        if wrong:
            caption += f" (true {predictions.labels[index]})"
            ax.add_patch(Rectangle((left - 1.5, top - 1.5), cell + 2, cell + 2, fill=False,
                                   edgecolor=ERROR_COLOR, linewidth=2))
        ax.text(left + cell / 2, top - 1.5, caption, ha="center", va="bottom", fontsize=7,
                color=ERROR_COLOR if wrong else "black",
                fontweight="bold" if wrong else "normal")
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    errors = int((~predictions.correct[:count]).sum())
    ax.set_title(f"{title}: predictions for the first {count} test digits, {errors} wrong "
                 "(red frame: prediction, true label)")
    return fig


def plot_reliability(tables: dict[str, pd.DataFrame], eces: dict[str, float]) -> plt.Figure:
    """Reliability diagrams: accuracy and mean confidence per confidence bin, counts below."""
    fig, axes = plt.subplots(2, len(tables), figsize=(5.2 * len(tables), 6.4), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    for column, (name, table) in enumerate(tables.items()):
        top, bottom = axes[0, column], axes[1, column]
        width = table["upper"] - table["lower"]
        centers = table["lower"] + width / 2
        top.bar(centers, table["accuracy"].fillna(0), width, edgecolor="black",
                label="accuracy in bin")
        # Bar top below the red line: overconfident; above it: underconfident.
        top.hlines(table["confidence"], table["lower"], table["upper"], color=ERROR_COLOR,
                   linewidth=2.5, label="mean confidence in bin")
        top.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        top.set_ylim(0, 1)
        top.set_ylabel("accuracy")
        top.set_title(f"{name.upper()}: ECE {eces[name]:.2%}")
        top.legend(loc="upper left", fontsize=8)
        bottom.bar(centers, table["count"], width, color="0.5", edgecolor="black")
        bottom.set_yscale("log")
        bottom.set_ylabel("images (log)")
        bottom.set_xlabel("confidence (probability of the predicted digit)")
        bottom.set_xlim(0, 1)
    fig.suptitle("Reliability: is a prediction made with confidence p right a fraction p of "
                 "the time?")
    fig.tight_layout()
    return fig


def plot_robustness(table: pd.DataFrame) -> plt.Figure:
    """Accuracy against transform strength, one panel per transform, one line per model."""
    transforms = list(dict.fromkeys(table["transform"]))
    fig, axes = plt.subplots(1, len(transforms), figsize=(4.2 * len(transforms), 3.8),
                             squeeze=False, sharey=True)
    for ax, name in zip(axes[0], transforms, strict=True):
        rows = table[table["transform"] == name]
        for model_name, curve in rows.groupby("model", sort=False):
            ax.plot(curve["level"], curve["accuracy"] * 100, marker="o", label=model_name.upper())
        ax.set_title(name)
        ax.set_xlabel(UNITS.get(name, "level"))
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("test accuracy (%)")
    axes[0, 0].legend()
    fig.suptitle("Robustness: accuracy as the test digits are changed")
    fig.tight_layout()
    return fig


def plot_transform_examples(image: np.ndarray, levels: dict[str, tuple[float, ...]]) -> plt.Figure:
    """One digit under every transform at every level: what the robustness curves measure."""
    columns = max(len(row) for row in levels.values())
    fig, axes = plt.subplots(len(levels), columns, figsize=(columns * 1.1, len(levels) * 1.35),
                             squeeze=False)
    for row_axes, (name, name_levels) in zip(axes, levels.items(), strict=True):
        for ax in row_axes:
            ax.axis("off")
        for ax, level in zip(row_axes, name_levels, strict=False):
            ax.axis("on")  # a frame, so that shifts are visible
            ax.set_xticks([])
            ax.set_yticks([])
            ax.imshow(np.squeeze(transform(name, image[np.newaxis], level)), cmap="gray_r",
                      vmin=0, vmax=1)
            ax.set_title(f"{name} {level:g}", fontsize=8)
    fig.suptitle("The changed test digits, weakest to strongest")
    fig.tight_layout()
    return fig


def plot_exports(table: pd.DataFrame):
    """Three bar charts side by side: file size, test accuracy and 1-image latency per format."""
    panels = [("size_kb", "file size (KiB)", "{:,.0f}"),
              ("test_accuracy", "MNIST test accuracy (%)", "{:.2f}"),
              ("latency_ms", "1-image latency (ms, median)", "{:.2f}")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (column, title, text) in zip(axes, panels, strict=True):
        bars = ax.bar(table["format"], table[column], color=colors[: len(table)])
        ax.bar_label(bars, [text.format(value) for value in table[column]], fontsize=8)
        ax.set_title(title)
        if column == "test_accuracy":  # the differences are hundredths of a point
            low = table[column].min()
            ax.set_ylim(max(0.0, low - 1.0), min(100.0, table[column].max() + 0.5))
        ax.margins(y=0.15)
    fig.suptitle("The CNN in each format, each run in its own runtime")
    fig.tight_layout()
    return fig
