"""Figures shared by the notes and the playground (plotly; each function returns a `plotly.graph_objects.Figure`).

* `codebook_usage_figure(sids)`: items per code at every semantic-ID level (is the codebook used evenly?),
* `code_sunburst(sids, catalog)`: the code tree c0 -> c1 -> ... -> item title,
* `code_treemap(sids, catalog, levels=2)`: the same tree as a treemap, the first levels shown, drill down on click,
* `rqvae_training_figure(history, best_epoch=None)`: the RQ-VAE's losses, distinct-ID share and codebook usage
  per epoch, one panel each,
* `token_layout_figure(vocab, item=None, describe_item=None)`: a model's vocabulary as a strip,
  specials | reserved | c0 | c1 | ... | collision, with an item's tokens marked,
* `beam_search_figure(trace)`: beam search over the code tree (`llm.trace_beam_search`): kept, outranked and
  trie-pruned proposals per level, and the final beams' items,
* `embedding_projection_figure(embeddings, color_by)`: a 2-D PCA of item embeddings,
* `attention_mask_figure(mask, convention="blocked", layout=None)`: a boolean attention mask (row = query,
  column = key; True = blocked by default, ``convention="allowed"`` for `attention`'s builders), with the
  prefix / history / candidate blocks of a `attention.Layout` separated and labelled,
* `training_curve_figure(history)`: loss and validation score per epoch (`TrainResult.history`).
* `loss_terms_figure(history, terms)`: each term of a multi-term loss per epoch, beside the validation score,
* `sweep_figure(table, x, left, right)`: metrics against a swept setting (e.g. RecGPT's beta), two y-axes.
* `sequence_layout_figure(segments)`: a model's input as a strip of named segments (OnePiece's IH | PA | SD | CIS),
* `segmented_mask_figure(mask, segments)`: an attention mask with every segment's boundary drawn and named.

plotly (and numpy) are the only dependencies; nothing here trains or loads a model.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _go():
    import plotly.graph_objects as go

    return go


def _esc(text) -> str:
    """Text for plotly's pseudo-HTML: ``<pad>`` or ``<sid_0_3>`` would otherwise be read as a tag and vanish."""
    import html

    return html.escape(str(text), quote=False)


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
    # per prefix node: how many items (all members, not just the drawn subset) and their commonest category
    n_in, cats = {}, {}
    for i in members:
        for lv in range(len(prefix), depth):
            node = "-".join(map(str, codes[i, : lv + 1]))
            n_in[node] = n_in.get(node, 0) + 1
            if catalog is not None:
                cats.setdefault(node, {}).setdefault(catalog.category(int(i)), 0)
                cats[node][catalog.category(int(i))] += 1

    def node_hover(node: str) -> str:
        text = f"prefix {node}: {n_in[node]} item{'s' if n_in[node] != 1 else ''}"
        if node in cats:
            top, n_top = max(cats[node].items(), key=lambda kv: kv[1])
            text += f"<br>mostly {top} ({n_top}/{n_in[node]})"
        return text

    ids, labels, parents = [root], [f"prefix {root}" if prefix else "all items"], [""]
    hover = [f"{len(members)} items" + (f" with prefix {root}" if prefix else "")]
    seen = {root}
    for i in items:
        parent = root
        for lv in range(len(prefix), depth):
            node = "-".join(map(str, codes[i, : lv + 1]))
            if node not in seen:
                seen.add(node)
                ids.append(node), labels.append(f"c{lv}={codes[i, lv]}"), parents.append(parent)
                hover.append(node_hover(node))
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


def code_treemap(sids, catalog=None, levels: int = 2, max_items: int = 600, prefix: Sequence[int] = (),
                 depth: int | None = None, height: int = 600):
    """The semantic-ID tree as a treemap that shows the first ``levels`` code levels; click a box to drill down.

    How to read it: each box of the outer layer is one first-level code c0 (with ``prefix``: the
    code after the prefix), its area the number of items under it (of those drawn); inside it, the
    boxes are the c1 codes that follow it, and so on. Only ``levels`` code levels are drawn at once
    (plotly's ``maxdepth``), so a static page stays legible; clicking a box zooms into it and
    reveals the next levels down to the item titles (the bar above the boxes leads back). Hover: a
    prefix's number of items and commonest category, an item's title, category and full ID.
    ``max_items``, ``prefix`` and ``depth`` are those of `code_sunburst`; the title says how many
    items are drawn.
    """
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"levels must be an integer >= 1 (code levels drawn at once), got {levels!r}")
    levels = int(levels)
    fig = code_sunburst(sids, catalog, max_items=max_items, prefix=prefix, depth=depth, kind="treemap",
                        maxdepth=levels + 1)  # + 1: the root box counts as a level
    t = fig.data[0]
    t.update(textinfo="label", pathbar=dict(visible=True, thickness=22), tiling=dict(pad=2), root=dict(color="#f4f4f4"),
             marker=dict(line=dict(width=1, color="white")))
    n_drawn = sum(i.startswith("item") for i in t.ids)
    codes, pre = np.asarray(sids.codes), np.asarray(tuple(prefix), dtype=np.int64)
    n_all = int((codes[:, : len(pre)] == pre).all(1).sum()) if len(pre) else len(codes)
    shown = f"{n_drawn} of {n_all} items" if n_drawn < n_all else f"all {n_all} items"
    where = f" with prefix {'-'.join(map(str, prefix))}" if len(prefix) else ""
    fig.update_layout(title=dict(text=f"Semantic-ID tree ({sids.method}): {shown}{where}<br><sup>first {levels} code "
                                      f"level{'s' if levels > 1 else ''} shown; click a box to drill down, the bar "
                                      f"above the boxes leads back</sup>", font=dict(size=15), x=0.01, xanchor="left"),
                      height=height, margin=dict(t=70, l=5, r=5, b=5))
    return fig


# ------------------------------------------------------------------------------ RQ-VAE, vocabulary, decoding
def _nice_step(span: float, max_ticks: int = 10) -> float:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that puts at most ``max_ticks`` ticks on ``span``."""
    step = 1.0
    while span / step > max_ticks:
        for m in (2, 2.5, 2):  # 1 -> 2 -> 5 -> 10 -> 20 -> ...
            step *= m
            if span / step <= max_ticks:
                break
    return step


def _number(value, what: str) -> float:
    """A history value as a float (None -> NaN, a gap in the line); anything else -> ValueError."""
    if value is None:
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is {value!r}, not a number") from None


_PALETTE = ["#1c7ed6", "#f08c00", "#2f9e44", "#ae3ec9", "#e03131", "#0c8599", "#5c940d", "#862e9c"]


def rqvae_training_figure(history, best_epoch: int | None = None, title: str | None = None):
    """The RQ-VAE's training curves: one panel per quantity, the epoch on the shared x axis.

    How to read it: after every epoch the RQ-VAE is evaluated on all items. Top panel: the
    reconstruction loss ``||x - x_hat||^2`` per item (input units squared; the inputs are
    standardised by default), which falls as the decoder learns to rebuild an item's embedding from
    its codes. Next: the quantization loss, codebook + beta * commitment summed over the levels, i.e.
    (1 + beta) times the squared distance of each residual to its chosen code vector (latent units
    squared). Then the distinct-ID share: distinct code tuples / items, before the collision token
    (100% = no two items share an ID). When the history logs it (``usage``), the last panel gives
    each level's share of codes in use: a codebook that collapses onto a few codes shows here first.
    Every subplot title ends with the last epoch's value; a dotted line marks ``best_epoch``, the
    epoch whose weights were kept. Nothing is fixed in advance: every number comes from ``history``.

    ``history``: the per-epoch dicts of `RQVAEQuantizer.history` / ``SemanticIDs.history`` (keys
    ``epoch``, ``recon``, ``rq``, optionally ``unique_rate`` and ``usage``, a list per level), a
    DataFrame with those columns, or the `SemanticIDs` / quantizer itself (then ``best_epoch``
    defaults to its ``metrics["best_epoch"]`` / ``best_epoch``).
    """
    from plotly.subplots import make_subplots

    go = _go()
    if hasattr(history, "history") and not hasattr(history, "to_dict"):  # SemanticIDs or RQVAEQuantizer
        source, history = history, history.history
        if best_epoch is None:
            best_epoch = (getattr(source, "metrics", None) or {}).get("best_epoch", getattr(source, "best_epoch", None))
    if hasattr(history, "to_dict"):
        rows = history.to_dict("records")
    elif isinstance(history, (list, tuple)):
        rows = list(history)
    else:
        raise ValueError(f"history must be a list of per-epoch dicts or a DataFrame, got {type(history).__name__}")
    if not rows:
        raise ValueError("history is empty: the RQ-VAE logs one row per epoch, train for at least one epoch")
    if not all(isinstance(r, dict) for r in rows):
        raise ValueError("history must hold one dict per epoch")
    missing = [k for k in ("recon", "rq") if not all(k in r for r in rows)]
    if missing:
        hint = (" (this looks like an RQ-KMeans history: one row per level, no training epochs to plot)"
                if any("residual_norm" in r for r in rows) else "")
        raise ValueError(f"rqvae_training_figure needs an RQ-VAE history whose rows all have 'recon' and 'rq'; "
                         f"missing {missing}, the first row has keys {sorted(rows[0])}{hint}")
    epochs = [_number(r.get("epoch", k), f"history row {k}: epoch") for k, r in enumerate(rows)]
    if any(np.isnan(epochs)) or any(b <= a for a, b in zip(epochs, epochs[1:])):
        raise ValueError(f"epochs must be numbers in increasing order, got {epochs}")
    epochs = [int(e) if float(e).is_integer() else e for e in epochs]

    def column(key):
        return [_number(r.get(key), f"history row {k}: {key}") for k, r in enumerate(rows)]

    # one panel per quantity: (subplot title, y-axis title, {trace name: values}, values are shares?)
    panels = [("Reconstruction loss ‖x − x̂‖²", "‖x − x̂‖² per item<br>(input units²)",
               {"reconstruction": column("recon")}, False),
              ("Quantization loss: codebook + β·commitment",
               "(1+β)·Σ<sub>d</sub> ‖r<sub>d</sub> − e<sub>d</sub>‖²<br>(latent units²)", {"quantization": column("rq")}, False)]
    if np.isfinite(column("unique_rate")).any():  # absent, None or NaN (a DataFrame's gaps) in every row: no panel
        panels.append(("Distinct IDs: distinct code tuples / items",
                       "distinct tuples<br>(% of items)", {"distinct IDs": column("unique_rate")}, True))
    usage = [None if isinstance(r.get("usage"), float) and np.isnan(r["usage"]) else r.get("usage") for r in rows]
    n_levels = 0
    if any(u is not None for u in usage):
        if not all(u is None or (isinstance(u, (list, tuple, np.ndarray)) and len(u)) for u in usage):
            raise ValueError("history 'usage' must be a list with one share per level in every row")
        n_levels = max(len(u) for u in usage if u is not None)
        if any(u is not None and len(u) != n_levels for u in usage):
            raise ValueError(f"history 'usage' must list the same number of levels ({n_levels}) in every row")
        panels.append(("Codebook usage per level", "codes used<br>(% of codebook)",
                       {f"c{l}": [float("nan") if u is None else _number(u[l], f"history usage c{l}") for u in usage]
                        for l in range(n_levels)}, True))

    def last(values, pct):
        finite = [v for v in values if np.isfinite(v)]
        return "n/a" if not finite else f"{finite[-1]:.1%}" if pct else f"{finite[-1]:.4g}"

    titles = []
    for sub, _, series, pct in panels:
        values = [f"{name} {last(v, pct)}" if len(series) > 1 else last(v, pct) for name, v in series.items()]
        titles.append(f"{sub} (last epoch: {', '.join(values)})")
    n = len(panels)
    row_px, gap_px, top_px, bottom_px = 170, 80, 90, 55  # a gap holds one subplot title above the panel below it
    plot_px = n * row_px + (n - 1) * gap_px
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, subplot_titles=titles, vertical_spacing=gap_px / plot_px)
    for row, (_, ytitle, series, pct) in enumerate(panels, start=1):
        for j, (name, values) in enumerate(series.items()):
            fmt, mode = ".1%" if pct else ".4g", "lines+markers" if len(rows) <= 60 else "lines"
            fig.add_trace(go.Scatter(x=epochs, y=values, name=name, mode=mode,
                                     marker=dict(size=4), line=dict(color=_PALETTE[(row - 1 + j) % len(_PALETTE)]),
                                     showlegend=len(series) > 1,
                                     hovertemplate=f"epoch %{{x}}<br>{name}: %{{y:{fmt}}}<extra></extra>"),
                          row=row, col=1)
        fig.update_yaxes(title_text=ytitle, automargin=True, row=row, col=1)
        if pct:
            fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=row, col=1)
    span = max(epochs) - min(epochs)
    fig.update_xaxes(dtick=_nice_step(span) if span else 1, showticklabels=True)  # every panel shows its epochs
    fig.update_xaxes(title_text="epoch", row=n, col=1)
    for ann in fig.layout.annotations:  # subplot titles: left-aligned over their panel, smaller than the title
        ann.update(font=dict(size=13), x=0, xanchor="left")
    if best_epoch is not None:
        fig.add_vline(x=best_epoch, line=dict(dash="dot", color="#495057", width=1), row="all", col=1)
        late = best_epoch > (min(epochs) + max(epochs)) / 2  # label on the side with room, inside the data's range
        fig.add_annotation(x=best_epoch, y=1, xref="x", yref="y domain", showarrow=False,
                           text=f"weights kept (epoch {best_epoch}) " if late else f" weights kept (epoch {best_epoch})",
                           xanchor="right" if late else "left", yanchor="top", font=dict(size=11, color="#495057"))
    if len(epochs) > 1:
        fig.update_xaxes(range=[min(epochs), max(epochs)])
    head = title or (f"RQ-VAE training: {len(rows)} epoch{'s' if len(rows) != 1 else ''}"
                     + (f", {n_levels} code levels" if n_levels else ""))
    height = plot_px + top_px + bottom_px
    legend = {}
    if n_levels:  # the usage panel's levels: a legend right of that (last) panel
        legend = dict(showlegend=True, legend=dict(title_text="level", x=1.01, xanchor="left", yanchor="top",
                                                  y=fig.layout[f"yaxis{n}"].domain[1]))
    fig.update_layout(title=dict(text=f"{head}<br><sup>each point: the model after that epoch, evaluated on all items"
                                      f"</sup>", x=0.01, xanchor="left", y=1 - 22 / height, yanchor="top"),
                      height=height, margin=dict(t=top_px, b=bottom_px, l=90, r=90 if n_levels else 30), **legend)
    return fig


def _legible_widths(counts: Sequence[int], min_width: float) -> np.ndarray:
    """Widths proportional to ``counts`` that sum to 1, no width under ``min_width`` (<= 1/len(counts))."""
    counts = np.asarray(counts, dtype=np.float64)
    floor = min(min_width, 1.0 / len(counts))
    widths, fixed = counts / counts.sum(), np.zeros(len(counts), dtype=bool)
    while True:  # raise the narrow blocks to the floor, shrink the others in proportion, until none is too narrow
        narrow = ~fixed & (widths < floor - 1e-12)
        if not narrow.any():
            return widths
        fixed |= narrow
        widths[fixed] = floor
        if (~fixed).any():
            widths[~fixed] = counts[~fixed] / counts[~fixed].sum() * (1.0 - floor * fixed.sum())


def token_layout_figure(vocab, item: int | None = None, describe_item=None, reserved_name: str = "reserved",
                        min_width: float = 0.1):
    """A model's vocabulary as one strip of blocks: specials | reserved | c0 | c1 | ... | collision.

    How to read it: token ids run left to right. The first ids are the named special tokens, then
    the ids reserved for the model (TIGER: user buckets; an LLM: its own text tokens), then one
    block of K ids per semantic-ID level: the code c at level l is the token offset + l·K + c, so a
    token's id alone tells its level. The last level is the collision token. Each block is labelled
    with its name and first–last token id; widths are proportional to token counts, except that no
    block is drawn narrower than ``min_width`` of the strip (the subtitle says when that happens).
    With ``item``, a marker per level points at the item's token in that level's block
    ("c0=12 → token 45"): its ID is these L tokens, which the model reads and generates. The title
    names the item by ``describe_item(item)`` (e.g. the catalog title; default "item <i>").
    Everything is read from ``vocab`` (a `SIDVocab`).
    """
    go = _go()
    if not all(hasattr(vocab, a) for a in ("specials", "offset", "L", "K", "level_block", "encode", "end")):
        raise ValueError(f"vocab must be a SIDVocab, got {type(vocab).__name__}")
    if not 0 < min_width <= 1:
        raise ValueError(f"min_width must lie in (0, 1], got {min_width}")
    if describe_item is not None and not callable(describe_item):
        raise ValueError("describe_item must be a function item -> str")
    n_items = vocab.sids.n_items
    if item is not None:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)) or not 0 <= item < n_items:
            raise ValueError(f"item must be an item index in [0, {n_items}), got {item!r}")
        item = int(item)
    S, offset, L, K = len(vocab.specials), int(vocab.offset), int(vocab.L), int(vocab.K)

    blocks = []  # name, first id, one past the last id, colour, hover detail
    if S:
        names = ", ".join(f"{i} {_esc(s)}" for i, s in enumerate(vocab.specials[:8])) + (" ..." if S > 8 else "")
        blocks.append(("specials", 0, S, "#ced4da", f"named special tokens: {names}"))
    if offset > S:
        blocks.append((_esc(reserved_name), S, offset, "#e9ecef",
                       f"{offset - S} ids the model uses for something else"))
    level_colours = ["#a5d8ff", "#b2f2bb", "#ffec99", "#d0bfff", "#99e9f2", "#fcc2d7", "#ffd8a8", "#c0eb75"]
    for l in range(L):
        block = vocab.level_block(l)
        used = vocab.sids.codebook_sizes[l]
        collision = L > 1 and l == L - 1
        blocks.append((f"c{l} (collision)" if collision else f"c{l}", block.start, block.stop,
                       "#ffc9c9" if collision else level_colours[l % len(level_colours)],
                       f"level {l}: code c is token {block.start} + c; {used} of its {K} codes in use"
                       + ("<br>collision token: tells apart items whose other codes are equal" if collision else "")))
    counts = [stop - start for _, start, stop, _, _ in blocks]
    widths = _legible_widths(counts, min_width)
    lefts = np.concatenate([[0.0], np.cumsum(widths)[:-1]])
    to_scale = np.allclose(widths, np.asarray(counts) / sum(counts))

    fig = go.Figure(go.Bar(
        y=[0] * len(blocks), x=widths.tolist(), base=lefts.tolist(), orientation="h", width=0.5, name="blocks",
        showlegend=False,
        marker=dict(color=[b[3] for b in blocks], line=dict(color="white", width=2)),
        text=[f"<b>{name}</b><br>{start}–{stop - 1}" for name, start, stop, _, _ in blocks],
        textposition="inside", insidetextanchor="middle", textangle=0, textfont=dict(size=12, color="#212529"),
        customdata=[[start, stop - 1, stop - start, detail] for _, start, stop, _, detail in blocks],
        hovertemplate="tokens %{customdata[0]}–%{customdata[1]} (%{customdata[2]} ids)<br>%{customdata[3]}"
                      "<extra></extra>"))

    def x_of(token: int) -> float:  # the token's place in the drawn (not to scale) strip
        k = next(i for i, (_, start, stop, _, _) in enumerate(blocks) if start <= token < stop)
        return float(lefts[k] + widths[k] * (token - blocks[k][1] + 0.5) / counts[k])

    lines, stagger = [f"code c at level l is token {offset} + {K}·l + c"], False
    if not to_scale:
        lines[0] += f"; blocks under {min(min_width, 1 / len(blocks)):.0%} of the strip drawn wider (not to scale)"
    if item is not None:
        tokens = [int(t) for t in vocab.encode(item)]
        codes = [int(c) for c in vocab.sids.codes[item]]
        first = len(blocks) - L  # the level blocks come last
        texts = [f"c{l}={c}<br>→ token {t}" for l, (c, t) in enumerate(zip(codes, tokens))]
        stagger = bool(min(widths[first:]) < 0.2)  # narrow blocks (a page is ~650 px wide): alternate label heights
        for l, (t, text) in enumerate(zip(tokens, texts)):  # a label over the level's block, an arrow to the token
            centre = float(lefts[first + l] + widths[first + l] / 2)
            fig.add_annotation(x=x_of(t), y=0.25, ax=centre, ay=0.85 if stagger and l % 2 else 0.55, xref="x", yref="y",
                               axref="x", ayref="y", text=text, showarrow=True, arrowhead=2, arrowwidth=1.5,
                               arrowcolor="#212529", font=dict(size=12, color="#212529"))
        strings = vocab.token_strings()
        fig.add_trace(go.Scatter(  # a tick at each of the item's tokens, inside its block
            x=[x_of(t) for t in tokens], y=[0.19] * L, mode="markers", name=f"item {item}'s tokens", showlegend=False,
            marker=dict(symbol="line-ns-open", size=14, color="#212529", line=dict(width=3, color="#212529")),
            text=[x.replace("<br>", " ") for x in texts], customdata=[[t, _esc(strings[t - offset])] for t in tokens],
            hovertemplate="%{text}<br>token string %{customdata[1]}<extra></extra>"))
        name = _esc(describe_item(item)) if describe_item is not None else f"item {item}"
        name = name if len(name) <= 100 else name[:99] + "…"
        lines.insert(0, f"{name}: ID {'-'.join(map(str, codes))} = tokens {', '.join(map(str, tokens))}")
    parts = [f"{S} special{'s' if S != 1 else ''}"] * bool(S) + [f"{offset - S} {_esc(reserved_name)}"] * (offset > S)
    head = f"Vocabulary of {vocab.end} tokens: {' + '.join(parts + [f'{L} levels × {K} codes'])}"
    y_top = 0.35 if item is None else 1.0 if stagger else 0.75  # room for the item's labels
    top = 55 + 22 * len(lines)
    height = top + 10 + round(155 * (y_top + 0.35))
    fig.update_layout(title=dict(text=head + "".join(f"<br><sup>{line}</sup>" for line in lines), x=0.01,
                                 xanchor="left", y=1 - 22 / height, yanchor="top"),
                      height=height, margin=dict(t=top, b=10, l=30, r=30),
                      plot_bgcolor="white", barmode="overlay",
                      xaxis=dict(visible=False, range=[-0.01, 1.01]),
                      yaxis=dict(visible=False, range=[-0.35, y_top]))
    return fig


_BEAM_STATUS = {  # status -> legend text, node marker, edge line
    "kept": ("kept: among the {num_beams} best", dict(symbol="circle", size=20, color="#1c7ed6"),
             dict(color="#1c7ed6", width=2)),
    "dropped": ("dropped: outranked by better prefixes", dict(symbol="circle", size=20, color="#f1f3f5",
                                                             line=dict(width=1.5, color="#adb5bd")),
                dict(color="#ced4da", width=1)),
    "pruned": ("pruned by the trie: no item has this prefix", dict(symbol="x-thin-open", size=11, color="#e03131",
                                                                   line=dict(width=2.5, color="#e03131")),
               dict(color="#ffa8a8", width=1, dash="dot")),
}


def _check_trace(trace) -> None:
    """ValueError unless ``trace`` is what `llm.trace_beam_search` returns (the fields this figure reads)."""
    if not isinstance(trace, dict) or not {"num_beams", "steps", "final"} <= set(trace):
        raise ValueError("trace must be the dict of llm.trace_beam_search: keys num_beams, steps, final")
    if not trace["steps"]:
        raise ValueError("trace has no steps: nothing to draw")
    kept_before = {-1}
    for l, step in enumerate(trace["steps"]):
        cands = step.get("candidates") if isinstance(step, dict) else None
        if cands is None or (not cands and kept_before):  # no proposals is fine only once every beam has died
            raise ValueError(f"trace step {l} has no candidates")
        for c in cands:
            if not isinstance(c, dict) or not {"parent", "code", "token", "logp", "status"} <= set(c):
                raise ValueError(f"trace step {l}: a candidate needs parent, code, token, logp and status, got {c!r}")
            if c["status"] not in _BEAM_STATUS:
                raise ValueError(f"trace step {l}: status must be one of {list(_BEAM_STATUS)}, got {c['status']!r}")
            if c["parent"] not in kept_before:
                raise ValueError(f"trace step {l}: parent {c['parent']} is no beam kept at the step before "
                                 f"({sorted(kept_before)})")
            if c["status"] == "kept" and c.get("beam") is None:
                raise ValueError(f"trace step {l}: a kept candidate needs its beam number")
        kept_before = {c["beam"] for c in cands if c["status"] == "kept"}
    for f in trace["final"]:
        if not isinstance(f, dict) or f.get("beam") not in kept_before:
            raise ValueError(f"final beam {f!r} is not a beam kept at the last step ({sorted(kept_before)})")
    if sorted(f["beam"] for f in trace["final"]) != sorted(kept_before):
        raise ValueError(f"final must list each beam kept at the last step once ({sorted(kept_before)}), "
                         f"got beams {[f['beam'] for f in trace['final']]}")


def beam_search_figure(trace, max_label: int = 32):
    """Beam search over the code tree, step by step: which prefixes were kept, outranked or pruned.

    How to read it: columns are the ID's levels c0, c1, ... (the last is the collision token), then
    the items the final beams decode to. At each level every live beam proposes its most probable
    next codes (one node each, labelled with the code, linked to its parent beam); of the proposals
    the trie allows, the ``num_beams`` with the highest cumulative log-probability are kept (solid
    blue) and the rest are outranked (grey rings); proposals that no item's ID starts with are
    pruned by the trie (red crosses) and never compete. Hover a node for its prefix, token id and
    cumulative log-prob. The right column lists the final beams, best first, with their items and
    log-probs. ``trace``: the dict of `llm.trace_beam_search`; ``max_label`` shortens item labels.
    """
    go = _go()
    _check_trace(trace)
    steps, final = trace["steps"], trace["final"]
    L = len(steps)
    per_parent: dict[tuple, int] = {}
    for l, step in enumerate(steps):
        for c in step["candidates"]:
            per_parent[(l, c["parent"])] = per_parent.get((l, c["parent"]), 0) + 1
    per_beam = max(per_parent.values())  # as observed: fewer when the level's block has fewer codes

    # y: each level's proposals grouped under their parent beams (in the parents' order), best first
    pos: dict[tuple, float] = {}  # (level, kept beam) -> y
    prefix: dict[tuple, list] = {(-1, -1): []}
    nodes = []  # (level, y, candidate, prefix codes)
    height_n = max(len(s["candidates"]) for s in steps)
    for l, step in enumerate(steps):
        parent_y = {b: y for (lv, b), y in pos.items() if lv == l - 1}
        order = sorted(step["candidates"], key=lambda c: (-parent_y.get(c["parent"], 0.0), -c["logp"], c["code"]))
        n = len(order)
        for i, c in enumerate(order):
            y = (n - 1) / 2 - i
            codes = prefix[(l - 1, c["parent"])] + [int(c["code"])]
            nodes.append((l, y, c, codes))
            if c["status"] == "kept":
                pos[(l, c["beam"])], prefix[(l, c["beam"])] = y, codes

    fig = go.Figure()
    for status, (legend, marker, line) in _BEAM_STATUS.items():
        ex, ey = [], []
        for l, y, c, _ in nodes:
            if c["status"] == status and l > 0:
                ex += [l - 1, l, None]
                ey += [pos[(l - 1, c["parent"])], y, None]
        fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", line=line, hoverinfo="skip", showlegend=False,
                                 legendgroup=status, name=f"{status} edges"))
    ranked = sorted(final, key=lambda f: -f.get("logp", -np.inf))

    def short(s: str) -> str:
        return s if len(s) <= max_label else s[: max_label - 1] + "…"

    labels = [f"#{r + 1} {_esc(short(str(f.get('label', f.get('item')))))} (log p {f.get('logp', float('nan')):.2f})"
              for r, f in enumerate(ranked)]  # one line each: final beams can sit on adjacent rows
    fy = [pos[(L - 1, f["beam"])] for f in ranked]
    ex, ey = [], []
    for y in fy:
        ex += [L - 1, L, None]
        ey += [y, y, None]
    fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", line=_BEAM_STATUS["kept"][2], hoverinfo="skip",
                             showlegend=False, legendgroup="kept", name="links to the final items"))
    for status, (legend, marker, line) in _BEAM_STATUS.items():
        mine = [(l, y, c, codes) for l, y, c, codes in nodes if c["status"] == status]
        hover = []
        for l, y, c, codes in mine:
            text = (f"prefix {'-'.join(map(str, codes))}<br>c{l}={c['code']} = token {c['token']}"
                    f"<br>cumulative log-prob {c['logp']:.3f}")
            text += (f"<br>kept as beam {c['beam']}" if status == "kept" else
                     "<br>no item's ID starts with this prefix" if status == "pruned" else
                     f"<br>outranked: not among the {trace['num_beams']} best")
            hover.append(text)
        fig.add_trace(go.Scatter(
            x=[m[0] for m in mine], y=[m[1] for m in mine], mode="markers+text", legendgroup=status,
            name=legend.format(num_beams=trace["num_beams"]),
            marker=marker, text=[str(m[2]["code"]) for m in mine],
            textposition="middle right" if status == "pruned" else "middle center",  # codes inside the circles
            ids=["-".join(map(str, m[3])) for m in mine],  # the node's prefix, e.g. "3-0"
            textfont=dict(size=10 if status != "pruned" else 11,
                          color={"kept": "white", "dropped": "#868e96", "pruned": "#e03131"}[status]),
            customdata=[[m[2]["token"], m[2]["logp"]] for m in mine], hovertext=hover, hoverinfo="text"))
    fig.add_trace(go.Scatter(
        x=[L] * len(ranked), y=fy, mode="markers+text", name="final beams", showlegend=False,
        marker=dict(symbol="square", size=12, color="#2f9e44"), text=labels, textposition="middle right",
        textfont=dict(size=11), customdata=[[f.get("item"), f.get("logp")] for f in ranked],
        hovertext=[f"{_esc(f.get('label', ''))}<br>ID {'-'.join(map(str, f.get('codes', [])))}<br>item {f.get('item')}"
                   f"<br>log-prob {f.get('logp', float('nan')):.3f}" for f in ranked], hoverinfo="text"))
    height = max(340, 180 + 26 * height_n)
    if not final:  # every beam died: all proposals of some level were pruned (too few proposals per beam)
        dead = next((l for l, s in enumerate(steps) if not any(c["status"] == "kept" for c in s["candidates"])), L - 1)
        labels = [f"no beam survived: every proposal at c{dead} was pruned", "(propose more codes per beam)"]
        fig.add_annotation(x=L, y=0, text="<br>".join(labels), showarrow=False, xanchor="left",
                           font=dict(size=12, color="#e03131"))
    longest = max(len(line) for t in labels for line in t.split("<br>"))
    share = min(0.5, longest * 6.2 / 620)  # of a ~620 px plot (the site's content width), for the final labels
    right = (L + 0.15 + 0.4 * share) / (1 - share)  # solves right = L + 0.15 + share * (right + 0.4)
    fig.update_layout(
        title=dict(text=f"Beam search: {trace['num_beams']} beams, up to {per_beam} proposals per beam and level"
                        f"<br><sup>left to right one code per level; node text = code, hover = token id and "
                        f"cumulative log-prob</sup>", x=0.01, xanchor="left", y=1 - 20 / height, yanchor="top"),
        height=height, margin=dict(t=110, b=70, l=20, r=20), plot_bgcolor="white",
        xaxis=dict(tickvals=list(range(L + 1)), ticktext=[f"c{l}" for l in range(L)] + ["final item"],
                   range=[-0.4, right], showgrid=False, zeroline=False, side="top"),
        yaxis=dict(visible=False, range=[-(height_n + 1) / 2, (height_n + 1) / 2]),
        legend=dict(orientation="h", x=0, y=-0.02, yanchor="top"))
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
def attention_mask_figure(mask, labels: Sequence[str] | None = None, title: str = "Attention mask", batch_index: int = 0,
                          convention: str = "blocked", layout=None):
    """A boolean mask as a grid: row = query, column = key, dark = may attend, light = blocked.

    ``convention``: what True means in ``mask``. ``"blocked"`` (the default, ``nn.MultiheadAttention``'s
    form and `attention.causal_mask`'s) or ``"allowed"`` (the mask builders of `attention`:
    ``causal``, ``candidate_isolated``, ...). ``mask`` is (L, L) or (B, L, L) (``batch_index`` picks
    one), numpy or torch. ``labels``: L token names for the axes. ``layout``: an `attention.Layout`
    of the L positions; lines then separate its blocks (prefix / history / candidates), each named
    on the top and left edges, and its labels (``p0 h0 c0``...) name the axes unless ``labels`` does.
    """
    go = _go()
    if convention not in ("blocked", "allowed"):
        raise ValueError(f"convention must be 'blocked' (True = blocked) or 'allowed' (True = may attend), "
                         f"got {convention!r}")
    m = _as_numpy(mask)
    if m.ndim == 3:
        m = m[batch_index]
    if m.ndim != 2:
        raise ValueError(f"mask must be (L, L) or (B, L, L), got shape {m.shape}")
    m = m.astype(bool)
    allowed = (m if convention == "allowed" else ~m).astype(int)  # 1 = query may attend to key
    if layout is not None and m.shape != (layout.n, layout.n):
        raise ValueError(f"mask is {m.shape} but the layout has n = {layout.n} positions")
    if labels is None and layout is not None:
        labels = layout.labels()
    names = list(labels) if labels is not None else [str(i) for i in range(max(m.shape))]
    if len(names) < max(m.shape):
        raise ValueError(f"need {max(m.shape)} labels, got {len(names)}")
    fig = go.Figure(go.Heatmap(z=allowed, x=names[: m.shape[1]], y=names[: m.shape[0]], zmin=0, zmax=1,
                               colorscale=[[0, "#f1f1f1"], [1, "#3b5bdb"]], showscale=False, xgap=1, ygap=1,
                               hovertemplate="query %{y} -> key %{x}: %{z}<extra>1 = attends</extra>"))
    top, standoff = 50, None
    if layout is not None:
        segments = layout.segments()
        for _, block in segments[1:]:  # a line before every block but the first, both axes
            edge = block.start - 0.5
            line = dict(color="#e8590c", width=2)
            fig.add_shape(type="line", x0=edge, x1=edge, y0=-0.5, y1=layout.n - 0.5, line=line)
            fig.add_shape(type="line", y0=edge, y1=edge, x0=-0.5, x1=layout.n - 0.5, line=line)
        for name, block in segments:
            middle = (block.start + block.stop - 1) / 2
            fig.add_annotation(x=middle, y=1.0, yref="paper", yanchor="bottom", yshift=22, text=_esc(name),
                               showarrow=False, font=dict(color="#e8590c"))
            fig.add_annotation(y=middle, x=0.0, xref="paper", xanchor="right", xshift=-28, text=_esc(name),
                               textangle=-90, showarrow=False, font=dict(color="#e8590c"))
        top, standoff = 110, 30  # the axis titles go outside the block names
    side = min(700, 120 + 28 * m.shape[0])
    fig.update_layout(title=title, height=side + top - 50, width=min(760, 160 + 28 * m.shape[1]),
                      margin=dict(t=top, l=110 if layout is not None else None),
                      xaxis=dict(title=dict(text="key", standoff=standoff), side="top", type="category"),
                      yaxis=dict(title=dict(text="query", standoff=standoff), autorange="reversed", type="category",
                                 scaleanchor="x"))
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


# --------------------------------------------------------------------------------------------- loss terms and sweeps
def _records(table) -> list[dict]:
    """Rows of a DataFrame, a list of dicts or a `TrainResult` (its history) as a list of dicts."""
    if hasattr(table, "history") and not hasattr(table, "to_dict"):
        table = table.history
    rows = table.reset_index().to_dict("records") if hasattr(table, "to_dict") else list(table)
    if not rows:
        raise ValueError("the table is empty")
    return rows


def loss_terms_figure(history, terms: Sequence[str], score_key: str | None = "score", title: str = "Training"):
    """Each term of a composite training loss per epoch (left axis) and the validation score (right
    axis, dashed), e.g. RecGPT's ``L_col``, ``L_tag``, ``L_cate`` (`TrainResult.history` rows)."""
    go = _go()
    rows = _records(history)
    missing = [t for t in terms if not any(t in r for r in rows)]
    if missing or not terms:
        raise ValueError(f"history rows have no {missing or 'terms'}; they have {sorted(rows[0])}")
    epochs = [r.get("epoch", k) for k, r in enumerate(rows)]
    fig = go.Figure()
    for j, term in enumerate(terms):
        fig.add_trace(go.Scatter(x=epochs, y=[_number(r.get(term), term) for r in rows], name=term,
                                 mode="lines+markers", line=dict(color=_PALETTE[j % len(_PALETTE)])))
    if score_key and any(score_key in r for r in rows):
        fig.add_trace(go.Scatter(x=epochs, y=[_number(r.get(score_key), score_key) for r in rows],
                                 name=f"validation {score_key}", mode="lines+markers", yaxis="y2",
                                 line=dict(color="#495057", dash="dash")))
    fig.update_layout(title=title, height=380, xaxis_title="epoch", yaxis=dict(title="training loss"),
                      yaxis2=dict(title=f"validation {score_key}", overlaying="y", side="right", showgrid=False),
                      legend=dict(orientation="h", y=-0.2), margin=dict(t=50))
    return fig


def sweep_figure(table, x: str, left: Sequence[str], right: Sequence[str] = (), title: str | None = None,
                 x_title: str | None = None):
    """Metrics against a swept setting: ``left`` columns on the left axis (solid), ``right`` columns on
    the right axis (dotted), e.g. Recall@10 and NDCG@10 left and category diversity right against beta."""
    go = _go()
    rows = sorted(_records(table), key=lambda r: _number(r.get(x), x))
    missing = [c for c in (x, *left, *right) if c not in rows[0]]
    if missing or not left:
        raise ValueError(f"the table has no column(s) {missing or 'to plot on the left axis'}; "
                         f"it has {sorted(rows[0])}")
    xs = [_number(r[x], x) for r in rows]
    fig = go.Figure()
    for j, (col, axis) in enumerate([(c, "y") for c in left] + [(c, "y2") for c in right]):
        fig.add_trace(go.Scatter(x=xs, y=[_number(r[col], col) for r in rows], name=col, mode="lines+markers",
                                 yaxis=axis, line=dict(color=_PALETTE[j % len(_PALETTE)],
                                                       dash="dot" if axis == "y2" else "solid")))
    layout = dict(title=title, height=400, xaxis_title=x_title or x, yaxis=dict(title=", ".join(left)),
                  legend=dict(orientation="h", y=-0.22), margin=dict(t=50))
    if right:
        layout["yaxis2"] = dict(title=", ".join(right), overlaying="y", side="right", showgrid=False)
    fig.update_layout(**layout)
    return fig


# --------------------------------------------------------------------------------------------- token sequences
def sequence_layout_figure(segments, title: str = "Token sequence"):
    """A model's input as a strip of segments, e.g. OnePiece's IH | PA | SD | CIS | reasoning blocks:
    ``segments`` = [(name, n_tokens), ...] in order; each box is as wide as its token count."""
    go = _go()
    segments = [(str(name), int(n)) for name, n in segments]
    if not segments or any(n < 0 for _, n in segments):
        raise ValueError(f"segments must be a non-empty list of (name, n_tokens >= 0), got {segments!r}")
    fig, start = go.Figure(), 0
    for j, (name, n) in enumerate(segments):
        fig.add_trace(go.Bar(x=[n], y=[""], base=start, orientation="h", name=_esc(name), text=f"{_esc(name)}<br>{n}",
                             textposition="inside", insidetextanchor="middle",
                             marker=dict(color=_PALETTE[j % len(_PALETTE)], line=dict(color="white", width=2)),
                             hovertemplate=f"{_esc(name)}: tokens {start}..{start + n - 1}<extra></extra>"))
        start += n
    fig.update_layout(title=title, barmode="overlay", height=230, showlegend=False, margin=dict(t=50, b=40),
                      xaxis=dict(title="position", range=[0, start]), yaxis=dict(visible=False))
    return fig


def segmented_mask_figure(mask, segments, labels: Sequence[str] | None = None, title: str = "Attention mask"):
    """`attention_mask_figure` (``convention="allowed"``) with a line before every segment and its name on
    the top and left edges, for layouts with any number of blocks (``segments`` = [(name, n_tokens)])."""
    m = _as_numpy(mask)
    n = sum(int(k) for _, k in segments)
    if m.shape != (n, n):
        raise ValueError(f"mask is {m.shape} but the segments hold {n} positions")
    fig = attention_mask_figure(m, labels=labels, title=title, convention="allowed")
    line, start = dict(color="#e8590c", width=2), 0
    for j, (name, k) in enumerate(segments):
        if j:
            fig.add_shape(type="line", x0=start - 0.5, x1=start - 0.5, y0=-0.5, y1=n - 0.5, line=line)
            fig.add_shape(type="line", y0=start - 0.5, y1=start - 0.5, x0=-0.5, x1=n - 0.5, line=line)
        middle = start + (int(k) - 1) / 2
        fig.add_annotation(x=middle, y=1.0, yref="paper", yanchor="bottom", yshift=22, text=_esc(name), showarrow=False,
                           font=dict(color="#e8590c", size=10))
        fig.add_annotation(y=middle, x=0.0, xref="paper", xanchor="right", xshift=-28, text=_esc(name), textangle=-90,
                           showarrow=False, font=dict(color="#e8590c", size=10))
        start += int(k)
    side = min(760, 160 + 14 * n)
    fig.update_layout(height=side + 60, width=side, margin=dict(t=110, l=110),
                      xaxis=dict(title=dict(text="key", standoff=30), side="top", type="category", tickfont=dict(size=7)),
                      yaxis=dict(title=dict(text="query", standoff=30), autorange="reversed", type="category",
                                 scaleanchor="x", tickfont=dict(size=7)))
    return fig


# --------------------------------------------------------------------------------------------- architectures
def mask_grid_figure(masks: dict, cols: int = 3, title: str = "Attention masks"):
    """Several boolean masks (True = may attend; `attention` builders) side by side, one panel per
    ``{caption: (N, N) mask}`` entry: row = query, column = key, dark = may attend."""
    from plotly.subplots import make_subplots

    go = _go()
    if not masks:
        raise ValueError("masks is empty: pass {caption: (N, N) bool mask}")
    cols = max(1, min(int(cols), len(masks)))
    rows = -(-len(masks) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_esc(k) for k in masks], horizontal_spacing=0.06,
                        vertical_spacing=0.12)
    for idx, (name, mask) in enumerate(masks.items()):
        m = _as_numpy(mask).astype(bool)
        if m.ndim != 2:
            raise ValueError(f"mask {name!r} must be 2-D, got shape {m.shape}")
        r, c = divmod(idx, cols)
        fig.add_trace(go.Heatmap(z=m.astype(int), zmin=0, zmax=1, colorscale=[[0, "#f1f1f1"], [1, "#3b5bdb"]],
                                 showscale=False, xgap=1, ygap=1,
                                 hovertemplate="query %{y} -> key %{x}: %{z}<extra>" + _esc(name) + "</extra>"),
                      row=r + 1, col=c + 1)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{idx + 1 if idx else ''}", showticklabels=False,
                         row=r + 1, col=c + 1)
        fig.update_xaxes(showticklabels=False, row=r + 1, col=c + 1)
    fig.update_layout(title=title, height=40 + 260 * rows, width=min(900, 280 * cols), margin=dict(t=80, l=20, r=20))
    return fig


def scaling_lines_figure(rows, x: str, panels: dict, group: str, title: str | None = None, log: bool = True,
                         x_title: str | None = None):
    """One panel per ``{column: axis title}`` of ``panels``, a line per value of ``group`` against ``x``
    (log-log by default; ``x_title`` names the x axis, default ``x``): e.g. prefill time, decode time
    and KV cache against the sequence length."""
    from plotly.subplots import make_subplots

    go = _go()
    records = _records(rows)
    if not records or not panels:
        raise ValueError("need rows and at least one panel")
    groups = list(dict.fromkeys(r[group] for r in records))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels.values()))
    for j, col in enumerate(panels):
        for g_i, g in enumerate(groups):
            pts = sorted((r[x], r[col]) for r in records if r[group] == g and r.get(col) is not None)
            if not pts:
                continue
            xs, ys = zip(*pts)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=_esc(g), legendgroup=str(g),
                                     showlegend=j == 0, line=dict(color=_PALETTE[g_i % len(_PALETTE)])),
                          row=1, col=j + 1)
        fig.update_xaxes(title=x_title or x, type="log" if log else "linear", row=1, col=j + 1)
        fig.update_yaxes(type="log" if log else "linear", row=1, col=j + 1)
    fig.update_layout(title=title, height=380, width=min(1000, 340 * len(panels)), margin=dict(t=80))
    return fig


# --------------------------------------------------------------------------------------------- comparing models
def quality_cost_figure(table, quality: str = "ndcg@10", cost: str = "latency_ms", size: str | None = "train_s",
                        title: str | None = None, log_x: bool = True):
    """One point per model (a `compare.compare` table): ``quality`` against ``cost`` (log axis by default),
    the marker area growing with ``size`` (e.g. training seconds; None: equal markers)."""
    go = _go()
    rows = _records(table)
    key = "model" if "model" in rows[0] else next(iter(rows[0]))
    for col in (quality, cost) + ((size,) if size else ()):
        if col not in rows[0]:
            raise ValueError(f"the table has no column {col!r}; it has {sorted(rows[0])}")
    xs = np.array([float(r[cost]) for r in rows])
    if log_x and (xs <= 0).any():
        xs = np.maximum(xs, xs[xs > 0].min() / 2 if (xs > 0).any() else 1e-3)  # zero cost on a log axis
    s = np.array([float(r[size]) for r in rows]) if size else np.ones(len(rows))
    marker = 10 + 30 * np.sqrt(s / s.max()) if s.max() > 0 else np.full(len(rows), 12.0)
    hover = [f"{_esc(r[key])}<br>{quality} {float(r[quality]):.4f}<br>{cost} {float(r[cost]):.3g}"
             + (f"<br>{size} {float(r[size]):.3g}" if size else "") for r in rows]
    fig = go.Figure(go.Scatter(x=xs, y=[float(r[quality]) for r in rows], mode="markers+text",
                               text=[_esc(r[key]) for r in rows], textposition="top center", hovertext=hover,
                               hoverinfo="text", marker=dict(size=marker, color=_PALETTE[0], opacity=0.7)))
    fig.update_layout(title=title or f"{quality} against {cost}" + (f" (marker area: {size})" if size else ""),
                      height=440, xaxis=dict(title=cost, type="log" if log_x else "linear"),
                      yaxis=dict(title=quality), margin=dict(t=60))
    return fig
