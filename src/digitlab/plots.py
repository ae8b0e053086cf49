"""Figures: every one is shown in the notebook and saved to figures/ by `save_figure`."""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from digitlab import config


def save_figure(fig: plt.Figure, name: str, figures_dir: Path | None = None) -> Path:
    """Save `fig` as `figures/<name>.png` and return the path.

    In a notebook the inline backend still shows the figure after the cell runs.
    """
    figures_dir = Path(figures_dir or config.FIGURES_DIR)
    figures_dir.mkdir(parents=True, exist_ok=True)
    path = figures_dir / f"{name}.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def plot_label_counts(y_train: np.ndarray, y_test: np.ndarray) -> plt.Figure:
    """Bar chart of how many images each digit has, train beside test."""
    digits = np.arange(10)
    train_counts = np.bincount(y_train, minlength=10)
    test_counts = np.bincount(y_test, minlength=10)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.4
    ax.bar(digits - width / 2, train_counts, width, label=f"train ({len(y_train):,})")
    ax.bar(digits + width / 2, test_counts, width, label=f"test ({len(y_test):,})")
    for digit, count in zip(digits, train_counts, strict=False):
        ax.text(digit - width / 2, count, f"{count:,}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(digits)
    ax.set_xlabel("digit")
    ax.set_ylabel("images")
    ax.set_title("Label distribution")
    ax.legend()
    return fig


def plot_digit_grid(images: np.ndarray, labels: np.ndarray, per_digit: int = 10,
                    seed: int = 0) -> plt.Figure:
    """Grid with one row per digit of `per_digit` randomly chosen examples."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(10, per_digit, figsize=(per_digit * 0.8, 8.4))
    for digit in range(10):
        candidates = np.flatnonzero(labels == digit)
        chosen = rng.choice(candidates, size=min(per_digit, len(candidates)), replace=False)
        for column, ax in enumerate(axes[digit]):
            ax.axis("off")
            if column < len(chosen):
                ax.imshow(images[chosen[column]], cmap="gray_r")
        axes[digit][0].set_title(str(digit), loc="left", fontsize=9, x=-0.35, y=0.3)
    fig.suptitle("Examples of every digit")
    return fig


def plot_mean_digits(images: np.ndarray, labels: np.ndarray) -> plt.Figure:
    """The mean image of each digit: where the ink usually is."""
    fig, axes = plt.subplots(1, 10, figsize=(12, 1.8))
    for digit, ax in enumerate(axes):
        ax.imshow(images[labels == digit].mean(axis=0), cmap="magma")
        ax.set_title(str(digit))
        ax.axis("off")
    fig.suptitle("Mean image of each digit")
    return fig


def plot_pixel_histogram(images: np.ndarray) -> plt.Figure:
    """Histogram of pixel intensities (log scale: most pixels are background)."""
    counts = np.bincount(images.ravel(), minlength=256)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(np.arange(256), counts, width=1.0)
    ax.set_yscale("log")
    ax.set_xlabel("pixel intensity (0 = background, 255 = full ink)")
    ax.set_ylabel("pixels (log scale)")
    background = counts[0] / counts.sum()
    ax.set_title(f"Pixel intensities: {background:.0%} are exactly 0")
    return fig
