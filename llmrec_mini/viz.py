"""Figures shared by the notes and the playground (plotly; each function returns a `plotly.graph_objects.Figure`).

* `codebook_usage_figure(sids)`: items per code at every semantic-ID level (is the codebook used evenly?),
* `code_sunburst(sids, catalog)`: the code tree c0 -> c1 -> ... -> item title,
* `embedding_projection_figure(embeddings, color_by)`: a 2-D PCA of item embeddings,
* `attention_mask_figure(mask)`: a boolean attention mask (True = blocked, row = query, column = key),
* `training_curve_figure(history)`: loss and validation score per epoch (`TrainResult.history`).

plotly (and numpy) are the only dependencies; nothing here trains or loads a model.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _go():
    import plotly.graph_objects as go

    return go


def _as_numpy(x) -> np.ndarray:
    """torch tensors (any device) and array-likes -> numpy."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


# --------------------------------------------------------------------------------------------- semantic IDs
def codebook_usage_figure(sids, levels: Sequence[int] | None = None, sort: bool = True):
    """One bar chart per semantic-ID level: how many items use each code.

    A healthy codebook spreads items over many codes; a collapsed one puts most items on a few.
    The subplot title gives the share of the codebook in use and the perplexity (2^entropy) of code
    use, from ``sids.metrics`` when present. ``levels`` defaults to every level but the collision
    token; ``sort`` orders bars by count (a rank plot) instead of by code.
    """
    from plotly.subplots import make_subplots

    go = _go()
    codes = np.asarray(sids.codes)
    n_code_levels = codes.shape[1] - 1 if codes.shape[1] > 1 else 1  # the last column is the collision token
    levels = list(range(n_code_levels)) if levels is None else list(levels)
    if not levels or any(not 0 <= lv < codes.shape[1] for lv in levels):
        raise ValueError(f"levels must lie in [0, {codes.shape[1]}), got {levels}")
    titles = []
    for lv in levels:
        counts = np.bincount(codes[:, lv], minlength=sids.codebook_sizes[lv])
        p = counts[counts > 0] / counts.sum()
        perplexity = float(2.0 ** -(p * np.log2(p)).sum())
        titles.append(f"c{lv}: {int((counts > 0).sum())}/{sids.codebook_sizes[lv]} codes used, "
                      f"perplexity {perplexity:.1f}")
    fig = make_subplots(rows=len(levels), cols=1, subplot_titles=titles, vertical_spacing=0.12)
    for row, lv in enumerate(levels, start=1):
        counts = np.bincount(codes[:, lv], minlength=sids.codebook_sizes[lv])
        order = np.argsort(-counts, kind="stable") if sort else np.arange(len(counts))
        fig.add_trace(go.Bar(x=np.arange(len(order)), y=counts[order], customdata=order, name=f"c{lv}",
                             hovertemplate="code %{customdata}: %{y} items<extra></extra>"), row=row, col=1)
        fig.update_xaxes(title_text="code rank" if sort else "code", row=row, col=1)
        fig.update_yaxes(title_text="items", row=row, col=1)
    fig.update_layout(height=230 * len(levels) + 60, showlegend=False, margin=dict(t=60, b=30),
                      title=f"Codebook usage ({sids.method})")
    return fig


def _spread_subset(order: np.ndarray, max_items: int) -> np.ndarray:
    """max_items entries of `order`, evenly spaced, so that every part of the sorted tree keeps some items."""
    if len(order) <= max_items:
        return order
    return order[np.unique(np.linspace(0, len(order) - 1, max_items).round().astype(int))]


def code_sunburst(sids, catalog=None, max_items: int = 400, prefix: Sequence[int] = (), depth: int | None = None,
                  kind: str = "sunburst", maxdepth: int = -1):
    """The semantic-ID tree as a sunburst (or treemap): rings c0, c1, ..., leaves = item titles.

    ``prefix`` restricts the tree to items whose ID starts with it (e.g. one first-level code);
    ``max_items`` keeps an evenly spread, deterministic subset of those items (sorted by code) so the
    figure stays legible; ``depth`` = code levels drawn above the items (default: all but the
    collision token). Hover shows the item's title and category. ``kind``: "sunburst" or "treemap";
    ``maxdepth``: rings drawn at once (-1 = all; click a sector to zoom into it).
    """
    go = _go()
    if kind not in ("sunburst", "treemap"):
        raise ValueError(f"kind must be 'sunburst' or 'treemap', got {kind!r}")
    codes = np.asarray(sids.codes)
    depth = codes.shape[1] - 1 if depth is None else depth
    if not 1 <= depth <= codes.shape[1]:
        raise ValueError(f"depth must lie in [1, {codes.shape[1]}], got {depth}")
    prefix = tuple(int(c) for c in prefix)
    members = np.flatnonzero((codes[:, : len(prefix)] == prefix).all(1)) if prefix else np.arange(len(codes))
    if len(members) == 0:
        raise ValueError(f"no item has an ID starting with {prefix}")
    order = members[np.lexsort(codes[members].T[::-1])]  # sort by c0, then c1, ...
    items = _spread_subset(order, max_items)

    root = "root" if not prefix else "-".join(map(str, prefix))
    ids, labels, parents, hover = [root], [f"prefix {root}" if prefix else "all items"], [""], [""]
    seen = {root}
    for i in items:
        parent = root
        for lv in range(len(prefix), depth):
            node = "-".join(map(str, codes[i, : lv + 1]))
            if node not in seen:
                seen.add(node)
                ids.append(node), labels.append(f"c{lv}={codes[i, lv]}"), parents.append(parent)
                hover.append(f"prefix {node}")
            parent = node
        title = catalog.title(int(i)) if catalog is not None else f"item {i}"
        category = catalog.category(int(i)) if catalog is not None else ""
        ids.append(f"item{i}"), labels.append(title), parents.append(parent)
        hover.append(f"{title}<br>{category}<br>ID {'-'.join(map(str, codes[i]))}")
    trace = go.Sunburst if kind == "sunburst" else go.Treemap
    fig = go.Figure(trace(ids=ids, labels=labels, parents=parents, hovertext=hover, hoverinfo="text", maxdepth=maxdepth))
    shown = f"{len(items)} of {len(members)} items" if len(items) < len(members) else f"{len(items)} items"
    fig.update_layout(title=f"Semantic-ID tree ({sids.method}, {shown})", height=650, margin=dict(t=50, l=0, r=0, b=0))
    return fig


# --------------------------------------------------------------------------------------------- embeddings
def embedding_projection_figure(embeddings, color_by=None, hover: Sequence[str] | None = None, title: str | None = None,
                                color_name: str = "group", max_points: int = 5000, seed: int = 0):
    """A 2-D PCA of item embeddings (n, d): one dot per item, coloured by ``color_by`` (n labels).

    ``color_by``: e.g. the first semantic-ID code or the category; integers and strings are treated
    as categories. ``hover``: one text per item (titles). At most ``max_points`` points are drawn
    (a seeded random subset); the axis titles give the share of variance each component explains.
    """
    from sklearn.decomposition import PCA

    go = _go()
    x = _as_numpy(embeddings).astype(np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"embeddings must be (n_items >= 2, d), got shape {x.shape}")
    if color_by is not None and len(color_by) != len(x):
        raise ValueError(f"color_by has {len(color_by)} entries for {len(x)} embeddings")
    if hover is not None and len(hover) != len(x):
        raise ValueError(f"hover has {len(hover)} entries for {len(x)} embeddings")
    pca = PCA(n_components=2, random_state=seed)
    xy = pca.fit_transform(x)  # (n, 2)
    keep = np.arange(len(x))
    if len(x) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(x), max_points, replace=False))
    labels = np.array([str(c) for c in color_by]) if color_by is not None else np.full(len(x), "items")
    text = np.array(hover if hover is not None else [f"item {i}" for i in range(len(x))], dtype=object)

    def sort_key(g):  # numeric labels in numeric order
        return (0, int(g)) if g.lstrip("-").isdigit() else (1, g)

    fig = go.Figure()
    for g in sorted(set(labels[keep]), key=sort_key):
        idx = keep[labels[keep] == g]
        fig.add_trace(go.Scattergl(x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=f"{color_name} {g}",
                                   text=text[idx], customdata=idx, marker=dict(size=6, opacity=0.8),
                                   hovertemplate="%{text}<br>item %{customdata}<extra>" + f"{color_name} {g}</extra>"))
    ev = pca.explained_variance_ratio_
    fig.update_layout(title=title or f"Item embeddings, PCA (coloured by {color_name})", height=550,
                      xaxis_title=f"PC1 ({ev[0]:.0%} of variance)", yaxis_title=f"PC2 ({ev[1]:.0%} of variance)",
                      legend=dict(itemsizing="constant"), margin=dict(t=50))
    return fig


# --------------------------------------------------------------------------------------------- attention
def attention_mask_figure(mask, labels: Sequence[str] | None = None, title: str = "Attention mask", batch_index: int = 0):
    """A boolean mask as a grid: row = query, column = key, dark = may attend, light = blocked.

    Uses the package convention (`attention.py`): True means *blocked*. ``mask`` is (L, L) or
    (B, L, L) (``batch_index`` picks one), numpy or torch. ``labels``: L token names for the axes.
    """
    go = _go()
    m = _as_numpy(mask)
    if m.ndim == 3:
        m = m[batch_index]
    if m.ndim != 2:
        raise ValueError(f"mask must be (L, L) or (B, L, L), got shape {m.shape}")
    allowed = (~m.astype(bool)).astype(int)  # 1 = query may attend to key
    names = list(labels) if labels is not None else [str(i) for i in range(max(m.shape))]
    if len(names) < max(m.shape):
        raise ValueError(f"need {max(m.shape)} labels, got {len(names)}")
    fig = go.Figure(go.Heatmap(z=allowed, x=names[: m.shape[1]], y=names[: m.shape[0]], zmin=0, zmax=1,
                               colorscale=[[0, "#f1f1f1"], [1, "#3b5bdb"]], showscale=False, xgap=1, ygap=1,
                               hovertemplate="query %{y} -> key %{x}: %{z}<extra>1 = attends</extra>"))
    side = min(700, 120 + 28 * m.shape[0])
    fig.update_layout(title=title, height=side, width=min(760, 160 + 28 * m.shape[1]), margin=dict(t=50),
                      xaxis=dict(title="key", side="top", type="category"),
                      yaxis=dict(title="query", autorange="reversed", type="category", scaleanchor="x"))
    return fig


# --------------------------------------------------------------------------------------------- training
def training_curve_figure(history, loss_key: str = "loss", score_key: str = "score", title: str = "Training"):
    """Training loss (left axis) and validation score (right axis) per epoch.

    ``history``: a list of dicts with ``epoch``, ``loss_key`` and optionally ``score_key``
    (`TrainResult.history`), a DataFrame with those columns, or a `TrainResult`.
    """
    go = _go()
    if hasattr(history, "history"):  # a TrainResult
        history = history.history
    rows = history.to_dict("records") if hasattr(history, "to_dict") else list(history)
    if not rows:
        raise ValueError("history is empty: train for at least one epoch")
    epochs = [r.get("epoch", k) for k, r in enumerate(rows)]
    fig = go.Figure()
    if any(loss_key in r for r in rows):
        fig.add_trace(go.Scatter(x=epochs, y=[r.get(loss_key) for r in rows], name=loss_key, mode="lines+markers"))
    if any(score_key in r for r in rows):
        fig.add_trace(go.Scatter(x=epochs, y=[r.get(score_key) for r in rows], name=f"validation {score_key}",
                                 mode="lines+markers", yaxis="y2"))
    if not fig.data:
        raise ValueError(f"history rows have neither {loss_key!r} nor {score_key!r}")
    fig.update_layout(title=title, height=380, xaxis_title="epoch", yaxis=dict(title=loss_key),
                      yaxis2=dict(title=f"validation {score_key}", overlaying="y", side="right", showgrid=False),
                      legend=dict(orientation="h", y=-0.2), margin=dict(t=50))
    return fig
