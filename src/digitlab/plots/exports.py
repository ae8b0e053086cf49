"""Figure of notebook 07: every exported format's size, accuracy and latency."""

import matplotlib.pyplot as plt
import pandas as pd


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
