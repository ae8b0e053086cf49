"""Learning curves of a training run."""

import matplotlib.pyplot as plt
import numpy as np

from digitlab.mnist.runfiles import kept_epoch


def plot_learning_curves(history: dict[str, list[float]], title: str) -> plt.Figure:
    """Accuracy and loss per epoch, training beside validation."""
    fig, (accuracy_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric in ((accuracy_ax, "accuracy"), (loss_ax, "loss")):
        ax.plot(epochs, history[metric], marker="o", label="training (augmented, dropout on)")
        ax.plot(epochs, history[f"val_{metric}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    kept = kept_epoch(history)
    accuracy_ax.annotate(f"kept {history['val_accuracy'][kept]:.2%}",
                         (epochs[kept], history["val_accuracy"][kept]),
                         textcoords="offset points", xytext=(-40, -25),
                         arrowprops={"arrowstyle": "->"})
    accuracy_ax.legend(loc="lower right")
    loss_ax.set_yscale("log")
    fig.suptitle(title)
    return fig
