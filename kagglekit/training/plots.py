"""The pictures of a run. Figures are built without pyplot, so no GUI backend or global state is touched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def curves(history: pd.DataFrame, path: Path, title: str) -> None:
    """Loss and accuracy per epoch, train vs validation."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    epochs = history["epoch"].to_numpy() + 1
    for ax, key, label in zip(fig.subplots(1, 2), ("loss", "accuracy"), ("loss", "accuracy")):
        ax.plot(epochs, history[key], "o-", label="train", markersize=3)
        ax.plot(epochs, history[f"val_{key}"], "o-", label="validation", markersize=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.savefig(path, dpi=100)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def confusion(matrix: np.ndarray, classes: list[str], path: Path, title: str) -> None:
    """The confusion matrix with each class's accuracy (recall) beside its row."""
    totals = matrix.sum(axis=1)
    per_class = np.divide(np.diag(matrix), totals, out=np.zeros(len(classes)), where=totals > 0)
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    fig = Figure(figsize=(9, 8), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=45, ha="right")
    ax.set_yticks(ticks, [f"{name} ({acc:.0%})" for name, acc in zip(classes, per_class)])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (per-class accuracy)")
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in ticks:
        for j in ticks:
            ax.text(
                j,
                i,
                str(matrix[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if matrix[i, j] > threshold else "black",
            )
    ax.set_title(f"{title}\nvalidation accuracy {accuracy:.2%} on {matrix.sum()} images")
    fig.savefig(path, dpi=100)


def samples(images: np.ndarray, labels: np.ndarray, classes: list[str], path: Path, per_class: int = 5) -> None:
    """The first five training images of each class in a 5 x n_classes grid, as seed 002 draws them."""
    fig = Figure(figsize=(1.5 * len(classes), 8), layout="constrained")
    axes = fig.subplots(per_class, len(classes), squeeze=False)
    for column, name in enumerate(classes):
        index = np.flatnonzero(labels == column)[:per_class]
        for row in range(per_class):
            ax = axes[row, column]
            ax.set_xticks([])
            ax.set_yticks([])
            if row < len(index):
                image = images[index[row]]
                if image.shape[-1] == 1:  # grey: imshow takes (H, W), not (H, W, 1)
                    ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255)
                else:
                    ax.imshow(image)
                ax.set_title(name, fontsize=9)
            else:
                ax.set_axis_off()
    fig.savefig(path, dpi=80)
