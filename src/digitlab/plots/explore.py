"""Figures of the MNIST digits themselves: labels, examples, mean images, pixels, inputs."""


import matplotlib.pyplot as plt
import numpy as np


def plot_label_counts(y_train: np.ndarray, y_test: np.ndarray,
                      names: tuple[str, str] = ("train", "test")) -> plt.Figure:
    """Bar chart of how many images each digit has, in two splits side by side."""
    digits = np.arange(10)
    train_counts = np.bincount(y_train, minlength=10)
    test_counts = np.bincount(y_test, minlength=10)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.4
    ax.bar(digits - width / 2, train_counts, width, label=f"{names[0]} ({len(y_train):,})")
    ax.bar(digits + width / 2, test_counts, width, label=f"{names[1]} ({len(y_test):,})")
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


def plot_image_rows(rows: list[np.ndarray], row_titles: list[str], title: str) -> plt.Figure:
    """Rows of 28x28 images, one title per row (e.g. originals and augmented copies)."""
    columns = max(len(row) for row in rows)
    fig, axes = plt.subplots(len(rows), columns, figsize=(columns * 0.9, len(rows) * 1.0),
                             squeeze=False)
    for row_axes, images, row_title in zip(axes, rows, row_titles, strict=True):
        for ax in row_axes:
            ax.axis("off")
        for ax, image in zip(row_axes, images, strict=False):
            ax.imshow(np.squeeze(image), cmap="gray_r", vmin=0, vmax=np.max(image) or 1)
        row_axes[0].set_title(row_title, loc="left", fontsize=8)
    fig.suptitle(title)
    return fig


def plot_input_formats(image: np.ndarray) -> plt.Figure:
    """One digit as the CNN sees it (a 28x28 grid) and as the MLP sees it (784 numbers in a row)."""
    fig = plt.figure(figsize=(11, 3.2))
    grid_ax = fig.add_axes((0.0, 0.1, 0.25, 0.8))
    grid_ax.imshow(np.squeeze(image), cmap="gray_r")
    grid_ax.set_title("CNN input: 28 x 28 x 1")
    grid_ax.axis("off")
    strip_ax = fig.add_axes((0.3, 0.45, 0.68, 0.12))
    strip_ax.imshow(np.reshape(image, (1, -1)), cmap="gray_r", aspect="auto")
    strip_ax.set_title("MLP input: the same pixels flattened to 784 numbers (row after row)")
    strip_ax.set_yticks([])
    strip_ax.set_xticks(np.arange(0, 785, 112))
    return fig
