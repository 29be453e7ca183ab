"""Splits and batching for next-item prediction.

**Leave-one-out** (the protocol of SASRec, S3-Rec, TIGER): for each user the last item is the test
target, the second-to-last the validation target, the rest is training. Validation histories are the
training part; test histories include the validation item. Users with fewer than 3 interactions
only contribute training data. Order within a user is the dataset's chronological order; ties in
time were already broken by file order when the dataset was built (`core.from_events`).

**Cold start** (TIGER §4.3): leave-one-out, then a share of the test items is removed from every
training sequence, validation row and history, so the model never sees them; they stay in the
catalog and remain test targets (`Split.cold_items`).

**Time split** (optional): one global cut-off time; each user's first interaction at or after the
validation / test cut-off becomes that user's target, with everything before it as history.

Item indices are shifted by one in padded tensors: token = item + 1 and 0 is padding (left padding,
so the most recent item is always at the last position).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core import Dataset

PAD = 0


@dataclass
class EvalSet:
    """Held-out targets: for each row, the user index, its history (item indices) and the target item."""

    users: np.ndarray
    histories: list[np.ndarray]
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, n: int, seed: int = 0) -> "EvalSet":
        """A random subset of n rows (for cheap validation during training)."""
        if n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return self.select(idx)

    def select(self, rows) -> "EvalSet":
        """The rows given by indices or a boolean mask."""
        idx = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=np.int64)
        return EvalSet(self.users[idx], [self.histories[i] for i in idx], self.targets[idx])


@dataclass
class Split:
    n_items: int
    train: list[np.ndarray]  # per user, the training part of the sequence (index = user)
    valid: EvalSet
    test: EvalSet
    protocol: str = "leave-one-out"
    cold_items: np.ndarray | None = None  # items never seen in training (cold-start split)

    def __repr__(self) -> str:
        return (f"Split({self.protocol}, items={self.n_items}, train_users={len(self.train)}, "
                f"train_interactions={sum(len(s) for s in self.train)}, valid={len(self.valid)}, test={len(self.test)})")


def leave_one_out(dataset: Dataset) -> Split:
    seqs = dataset.interactions.sequences
    train, v_u, v_h, v_t, t_u, t_h, t_t = [], [], [], [], [], [], []
    for u, s in enumerate(seqs):
        if len(s) < 3:
            train.append(s)
            continue
        train.append(s[:-2])
        v_u.append(u), v_h.append(s[:-2]), v_t.append(s[-2])
        t_u.append(u), t_h.append(s[:-1]), t_t.append(s[-1])
    return Split(dataset.n_items, train, EvalSet(np.array(v_u), v_h, np.array(v_t)),
                 EvalSet(np.array(t_u), t_h, np.array(t_t)))


def cold_start(dataset: Dataset, share: float = 0.05, seed: int = 0) -> Split:
    """Leave-one-out with cold items (TIGER §4.3: "5% of the test items" are held out of training).

    A random ``share`` of the distinct test targets becomes *cold*: every occurrence is removed from
    the training sequences and from all histories, and validation rows that target one are dropped.
    Test rows keep their targets, so ``split.test.select(np.isin(split.test.targets,
    split.cold_items))`` are the users whose next item the model has never seen.
    """
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share}")
    base = leave_one_out(dataset)
    targets = np.unique(base.test.targets)
    n_cold = max(1, round(share * len(targets)))
    cold = np.sort(np.random.default_rng(seed).choice(targets, size=n_cold, replace=False))
    warm = lambda h: h[~np.isin(h, cold)]  # noqa: E731
    keep = ~np.isin(base.valid.targets, cold)
    valid = base.valid.select(keep)
    valid.histories = [warm(h) for h in valid.histories]
    test = EvalSet(base.test.users, [warm(h) for h in base.test.histories], base.test.targets)
    return Split(base.n_items, [warm(s) for s in base.train], valid, test, "cold-start", cold)


def time_split(dataset: Dataset, valid_quantile: float = 0.8, test_quantile: float = 0.9) -> Split:
    ts = dataset.interactions.timestamps
    if ts is None:
        raise ValueError(f"{dataset.name} has no timestamps; use leave_one_out")
    all_t = np.concatenate(ts)
    t_valid, t_test = np.quantile(all_t, valid_quantile), np.quantile(all_t, test_quantile)
    train, v, t = [], ([], [], []), ([], [], [])
    for u, (s, tt) in enumerate(zip(dataset.interactions.sequences, ts)):
        train.append(s[tt < t_valid])
        for cut, hi, out in ((t_valid, t_test, v), (t_test, np.inf, t)):
            k = int(np.searchsorted(tt, cut, side="left"))  # first event at/after the cut-off
            if k < len(s) and tt[k] < hi and k > 0:
                out[0].append(u), out[1].append(s[:k]), out[2].append(s[k])
    mk = lambda o: EvalSet(np.array(o[0], dtype=np.int64), o[1], np.array(o[2], dtype=np.int64))  # noqa: E731
    return Split(dataset.n_items, train, mk(v), mk(t), protocol="time")


def pad_left(histories: list[np.ndarray], max_len: int) -> np.ndarray:
    """(B, max_len) int64 tokens: the last `max_len` items of each history, shifted by +1, left-padded with 0."""
    out = np.full((len(histories), max_len), PAD, dtype=np.int64)
    for b, h in enumerate(histories):
        h = np.asarray(h[-max_len:]) + 1
        if len(h):
            out[b, -len(h):] = h
    return out


def training_windows(train: list[np.ndarray], max_len: int, stride: int | None = None) -> list[tuple[np.ndarray, int]]:
    """Cut each training sequence into windows of at most max_len+1 items, from the most recent backwards.

    A window w gives inputs w[:-1] and next-item targets w[1:]. Each entry is ``(w, n)``: only the
    last ``n`` targets of w are trained on, so that every training transition is used exactly once
    (long ML-100k histories are not thrown away). With ``stride = max_len`` (the default) windows
    overlap by one item and every target counts. A smaller stride overlaps them more: a window then
    trains only on its last ``stride`` targets, each of which sees at least ``max_len - stride``
    earlier items (the oldest window of a sequence trains on all of its targets), closer to what
    the model sees at test time, for about ``max_len / stride`` times the compute.
    """
    stride = max_len if stride is None else stride
    if max_len < 1 or not 1 <= stride <= max_len:
        raise ValueError(f"need max_len >= 1 and 1 <= stride <= max_len, got max_len={max_len}, stride={stride}")
    out = []
    for s in train:
        end = len(s)
        while end >= 2:
            start = max(0, end - max_len - 1)
            out.append((s[start:end], end - 1 - start if start == 0 else min(stride, end - 1 - start)))
            end = end - stride if start > 0 else 0
    return out


def iterate_batches(n: int, batch_size: int, shuffle: bool = True, seed: int = 0):
    """Index batches over n rows (a fresh permutation per call when shuffling)."""
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]
