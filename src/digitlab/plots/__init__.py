"""Figures, one module per subject; every figure is shown in its notebook and saved to
figures/ by `save_figure`, so the notebook and the folder never disagree.

Plots read results (arrays, tables, histories); nothing that computes results imports them.
"""

from pathlib import Path

import matplotlib.pyplot as plt

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
