"""Figures of notebook 08: the gap between MNIST and another digit set, and what a few labels
of the new set buy."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def plot_domain_gap(sets: dict[str, tuple[np.ndarray, np.ndarray]], per_set: int = 10
                    ) -> plt.Figure:
    """For each named set of (images, labels): one example of each digit, then the mean image
    of each digit, a row each."""
    fig, axes = plt.subplots(2 * len(sets), 10, figsize=(10, 2.1 * len(sets)))
    for row, (name, (images, labels)) in enumerate(sets.items()):
        for digit in range(10):
            members = images[labels == digit]
            for ax, image, what in ((axes[2 * row, digit], members[0], "example"),
                                    (axes[2 * row + 1, digit], members.mean(axis=0), "mean")):
                ax.imshow(image, cmap="gray")
                ax.set_xticks([])
                ax.set_yticks([])
                if digit == 0:
                    ax.set_ylabel(f"{name}\n{what}", fontsize=8)
    fig.suptitle("The same digits from two sources: examples and mean images")
    fig.tight_layout()
    return fig


def plot_accuracy_vs_shots(summary: pd.DataFrame, zero_shot: float) -> plt.Figure:
    """Held-out accuracy against labelled images per digit, one line per strategy, error bars
    of one standard deviation over draws; the model without any new labels as a line.

    Args:
        summary: rows of strategy, k (int or "all"), mean, sd.
    """
    fig, ax = plt.subplots(figsize=(8, 4.2))
    order = sorted({k for k in summary["k"] if k != "all"})
    positions = {k: i for i, k in enumerate(order + ["all"])}
    for strategy, rows in summary.groupby("strategy", sort=False):
        x = [positions[k] for k in rows["k"]]
        ax.errorbar(x, rows["mean"] * 100, yerr=rows["sd"].fillna(0) * 100, marker="o",
                    capsize=3, label=strategy)
    ax.axhline(zero_shot * 100, color="grey", linestyle="--",
               label=f"MNIST CNN, no new labels ({zero_shot:.1%})")
    ax.set_xticks(list(positions.values()), [str(k) for k in positions])
    ax.set_xlabel("labelled images per digit (k)")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_ylim(max(0.0, min(summary["mean"].min() * 100 - 5, zero_shot * 100 - 5)), 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("What a few labels of new handwriting buy (mean ± sd over draws)")
    return fig
