"""The report's figures: matplotlib (Agg) figures returned as data: URIs, so the page embeds them
and fetches nothing."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd


LEARNING_CURVES = ("mean_reward", "val_score")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def data_uri(fig: Any) -> str:
    """A figure as a base64 PNG data: URI (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    _plt().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def clusters(vectors: np.ndarray, k: int = 4, seed: int = 0) -> np.ndarray:
    """k-means labels of the regime vectors (scipy's kmeans2, seeded: the same run gives the same colours)."""
    from scipy.cluster.vq import kmeans2

    k = max(1, min(k, len(vectors)))
    _, labels = kmeans2(vectors.astype(np.float64), k, seed=seed, minit="++")
    return labels


def pca2(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components (by SVD of the centred vectors: two lines, no new dependency)
    and the share of variance each explains."""
    x = vectors - vectors.mean(axis=0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    var = s**2 / max(float((s**2).sum()), 1e-12)
    comps = np.zeros((x.shape[1], 2))
    comps[:, : min(2, vt.shape[0])] = vt[:2].T
    return x @ comps, np.pad(var[:2], (0, max(0, 2 - len(var[:2]))))


def regime_price(close: pd.Series, labels: np.ndarray, held_out: dict[str, pd.Timestamp]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(close.index, close.to_numpy(), color="#bbbbbb", lw=0.6, zorder=1)
    cmap = plt.get_cmap("tab10")
    for c in np.unique(labels):
        m = labels == c
        ax.scatter(close.index[m], close.to_numpy()[m], s=5, color=cmap(int(c) % 10), label=f"regime cluster {c}", zorder=2)
    for name, start in held_out.items():
        ax.axvspan(start, close.index[-1], color="#ffd54f" if name == "test" else "#e0e0e0", alpha=0.25, zorder=0,
                   label=f"held out ({name}) from {start:%Y-%m-%d}")
    ax.set_ylabel("close (30-minute bars)")
    ax.legend(loc="upper left", fontsize=7, ncol=3)
    fig.tight_layout()
    return data_uri(fig)


def regime_map(points: np.ndarray, var: np.ndarray, labels: np.ndarray) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.scatter(points[:, 0], points[:, 1], c=labels % 10, cmap="tab10", vmin=0, vmax=9, s=6, alpha=0.7)
    ax.set_xlabel(f"PC1 ({var[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({var[1]:.0%} of variance)")
    fig.tight_layout()
    return data_uri(fig)


def equity(curves: dict[str, pd.DataFrame]) -> str:
    plt = _plt()
    fig, (a, b) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    for name, eq in curves.items():
        a.plot(eq.index, eq["equity"], label=name, lw=1.6 if name == "system" else 1.0)
        b.plot(eq.index, eq["drawdown"], label=name, lw=1.6 if name == "system" else 1.0)
    a.set_ylabel("net P&L (USD)")
    b.set_ylabel("drawdown (USD)")
    a.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return data_uri(fig)


def training(histories: dict[str, list[dict[str, Any]]]) -> str:
    plt = _plt()
    fig, axes = plt.subplots(1, len(histories), figsize=(4.2 * len(histories), 3.4), squeeze=False)
    for ax, (name, rows) in zip(axes[0], histories.items()):
        frame = pd.DataFrame(rows)
        xcol = next((c for c in ("epoch", "iteration") if c in frame.columns), None)
        x = frame[xcol] if xcol else pd.Series(range(1, len(frame) + 1))
        numeric = [c for c in frame.columns if c != xcol and pd.api.types.is_numeric_dtype(frame[c]) and frame[c].notna().any()]
        # losses (and the M-RMS's reward/score) share a scale; the rest (counts, P&L) would flatten them
        for col in [c for c in numeric if "loss" in c or c in LEARNING_CURVES] or numeric:
            ax.plot(x, frame[col], marker=".", label=col)
        ax.set_title(name)
        ax.set_xlabel(xcol or "step")
        ax.legend(fontsize=6)
    fig.tight_layout()
    return data_uri(fig)
