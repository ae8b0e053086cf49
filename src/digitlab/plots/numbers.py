"""Figures of notebook 09: numbers read, each digit's box and answer drawn over the picture."""

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle


def plot_number_readings(pictures: list, readings: list, labels: list[str], columns: int = 2):
    """Each picture with the reader's boxes (green: sure, orange: unsure) and answers; the
    title gives the number read and the one written."""
    rows = (len(pictures) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 2.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, picture, reading, label in zip(axes.flat, pictures, readings, labels, strict=False):
        ax.imshow(picture, cmap="gray")
        for digit in reading.digits:
            x0, y0, x1, y1 = digit.box
            colour = "tab:green" if reading.is_sure(digit) else "tab:orange"
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.5,
                                   edgecolor=colour))
            ax.text(x0, y0 - 3, str(digit.digit), color=colour, fontsize=10, weight="bold")
        mark = "right" if reading.number == label else "wrong"
        ax.set_title(f"read {reading.number or '(none)'}, written {label}: {mark}", fontsize=10)
    fig.tight_layout()
    return fig
