"""Train the tagger (`trends.ingest.tagger`) from labelled posts and measure it on held-out outlets.

Fitting: one-vs-rest L2 logistic regression, full-batch Adam on a sparse matrix (numpy
only). Calibration: out-of-fold margins, grouped by outlet, give each trend a Platt scaling
and the probability threshold that maximises its F1. Evaluation (`cross_validate`): folds
grouped by outlet (all of a publisher's feeds and snapshots), so an outlet is never in both
train and test; within each training part the calibration is again out of fold, so the
figures never see the test outlet.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from trends.ingest import tagger
from trends.ingest.labelled_posts import Example
from trends.ingest.lexicon import lexicon_tag
from trends.ingest.tagger import DIM, N_LEX, TRENDS, Features, Model, featurise
from trends.themes import Themes

__all__ = [
    "Figures",
    "cross_validate",
    "fit",
    "train_model",
]

L2 = 3e-5
STEPS = 150
LEARNING_RATE = 0.1
MIN_DF = 2  # a bucket seen in a single post is noise that costs weight-file bytes
FOLDS = 5
MIN_THRESHOLD = 0.1  # a trend is never kept on less than this probability
# Positives weigh (negatives/positives) ** this: thin trends are not drowned out, and the
# thresholds tuned afterwards set the final balance.
CLASS_WEIGHT_POWER = 0.25
# A threshold is chosen to maximise F1 less this times the share of posts about none of
# the ten that it tags: tagging a post about nothing is what subscribers notice most.
FALSE_ALARM_PENALTY = 3.0
# Each trend's penalty sees only its own false alarms; a subscriber sees them all at once.
# After the cuts are chosen, they are raised, cheapest F1 first, until at most this share of
# the out-of-fold posts about none of the ten gets any trend.
FALSE_ALARM_BUDGET = 0.09
_THRESHOLD_STEP = 0.02


@dataclass(slots=True)
class _Matrix:
    """Rows of hashed features in CSR form, plus the dense lexicon block."""

    indptr: np.ndarray
    index: np.ndarray
    value: np.ndarray
    lex: np.ndarray
    rows: np.ndarray  # row number of each stored value
    gate: np.ndarray  # bool per post: it passes the AI gate, so the model may tag it

    @classmethod
    def of(cls, feats: Sequence[Features]) -> _Matrix:
        lengths = np.array([len(f.index) for f in feats], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        index = np.concatenate([f.index for f in feats]) if feats else np.zeros(0, np.int64)
        value = np.concatenate([f.value for f in feats]) if feats else np.zeros(0, np.float32)
        lex = np.stack([f.lex for f in feats]) if feats else np.zeros((0, N_LEX), np.float32)
        rows = np.repeat(np.arange(len(feats)), lengths)
        gate = np.array([f.names_ai for f in feats], dtype=bool)
        return cls(indptr, index, value.astype(np.float64), lex.astype(np.float64), rows, gate)

    def take(self, which: np.ndarray) -> _Matrix:
        return _Matrix.of_parts(self, which)

    @staticmethod
    def of_parts(m: _Matrix, which: np.ndarray) -> _Matrix:
        starts, ends = m.indptr[which], m.indptr[which + 1]
        lengths = ends - starts
        pick = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        rows = np.repeat(np.arange(len(which)), lengths)
        return _Matrix(indptr, m.index[pick], m.value[pick], m.lex[which], rows, m.gate[which])

    def __len__(self) -> int:
        return len(self.lex)


def fit(
    m: _Matrix, y: np.ndarray, mask: np.ndarray | None = None, *, steps: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L2 logistic regression per trend; `mask` [n,10] drops (post, trend) pairs not known.

    Positives are weighted by (negatives/positives) ** `CLASS_WEIGHT_POWER`.
    """
    n, k = y.shape
    mask = np.ones_like(y) if mask is None else mask
    # Only buckets seen in at least MIN_DF posts get a weight.
    df = np.bincount(m.index, minlength=DIM)
    keep = df[m.index] >= MIN_DF
    cols, local = np.unique(m.index[keep], return_inverse=True)
    value, rows = m.value[keep], m.rows[keep]
    pos = (y * mask).sum(0)
    neg = ((1 - y) * mask).sum(0)
    sample_w = mask * np.where(y > 0, (neg / np.maximum(pos, 1)) ** CLASS_WEIGHT_POWER, 1.0)
    # A trend with no known post in this fold keeps zero weight instead of NaN.
    sample_w /= np.maximum(sample_w.sum(0, keepdims=True), 1e-12) / n
    w = np.zeros((len(cols), k))
    lw = np.zeros((N_LEX, k))
    b = np.zeros(k)
    params = [w, lw, b]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    for step in range(1, (steps or STEPS) + 1):
        z = _rowsum(rows, value[:, None] * w[local], n) + m.lex @ lw + b
        p = 1.0 / (1.0 + np.exp(-z))
        g = sample_w * (p - y) / n
        gw = _colsum(local, value[:, None] * g[rows], len(cols)) + L2 * w
        grads = [gw, m.lex.T @ g + L2 * lw, g.sum(0)]
        for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
            m1[i] = 0.9 * m1[i] + 0.1 * grad
            m2[i] = 0.999 * m2[i] + 0.001 * grad * grad
            hat1 = m1[i] / (1 - 0.9**step)
            hat2 = m2[i] / (1 - 0.999**step)
            param -= LEARNING_RATE * hat1 / (np.sqrt(hat2) + 1e-8)
    text_w = np.zeros((DIM, k), dtype=np.float32)
    text_w[cols] = w
    return text_w, lw, b


def _rowsum(rows: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.stack(
        [np.bincount(rows, values[:, j], minlength=n) for j in range(values.shape[1])], 1
    )


def _colsum(cols: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.stack(
        [np.bincount(cols, values[:, j], minlength=n) for j in range(values.shape[1])], 1
    )


def _margins(weights: tuple[np.ndarray, np.ndarray, np.ndarray], m: _Matrix) -> np.ndarray:
    text_w, lw, b = weights
    return _rowsum(m.rows, m.value[:, None] * text_w[m.index], len(m)) + m.lex @ lw + b


def group_folds(groups: Sequence[str], folds: int) -> list[np.ndarray]:
    """GroupKFold: whole groups, largest first, each to the fold with fewest posts so far."""
    sizes: dict[str, int] = {}
    for g in groups:
        sizes[g] = sizes.get(g, 0) + 1
    fold_of: dict[str, int] = {}
    load = [0] * folds
    for g in sorted(sizes, key=lambda g: (-sizes[g], g)):
        f = min(range(folds), key=lambda i: (load[i], i))
        fold_of[g] = f
        load[f] += sizes[g]
    arr = np.array([fold_of[g] for g in groups])
    return [np.flatnonzero(arr == f) for f in range(folds)]


def _platt(margin: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fit p = sigmoid(a*margin + b) to out-of-fold margins (Newton steps, tiny prior)."""
    a, b = 1.0, 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(a * margin + b, -30, 30)))
        r = p - y
        ga, gb = float(r @ margin) + 1e-3 * a, float(r.sum())
        s = p * (1 - p)
        haa, hab, hbb = float(s @ (margin * margin)) + 1e-3, float(s @ margin), float(s.sum())
        det = haa * hbb - hab * hab
        if det <= 1e-12:
            break
        a -= (hbb * ga - hab * gb) / det
        b -= (haa * gb - hab * ga) / det
    return a, b


def _best_threshold(prob: np.ndarray, y: np.ndarray, none: np.ndarray) -> float:
    """The probability cut that maximises F1 less the false-alarm penalty on `none` posts.

    Ties go to the higher cut: fewer false alarms.
    """
    best, best_f = 0.5, -np.inf
    for t in np.arange(MIN_THRESHOLD, 0.91, _THRESHOLD_STEP):
        pred = prob >= t
        tp = float((pred & (y > 0)).sum())
        f = 2 * tp / (pred.sum() + (y > 0).sum()) if pred.sum() + (y > 0).sum() else 0.0
        f -= FALSE_ALARM_PENALTY * float((pred & none).sum()) / max(int(none.sum()), 1)
        if f >= best_f:
            best, best_f = float(t), f
    return best


def _calibrate(
    m: _Matrix,
    y: np.ndarray,
    mask: np.ndarray,
    groups: Sequence[str],
    folds: int,
    real: np.ndarray,
):
    """Platt a, b and thresholds per trend from out-of-fold margins on the `real` posts.

    Our own short examples train every fold but never set a threshold: they are far easier
    than a real post, and would pull the cuts down.
    """
    oof = np.zeros(y.shape)
    for test in group_folds(groups, folds):
        train = np.setdiff1d(np.arange(len(m)), test)
        oof[test] = _margins(fit(m.take(train), y[train], mask[train]), m.take(test))
    k = y.shape[1]
    a, b, t = np.ones(k), np.zeros(k), np.full(k, 0.5)
    # Posts about none of the ten, as far as is known (a reader's flag says nothing of them).
    none = (y.sum(1) == 0) & (mask.min(1) > 0)
    mask = mask * real[:, None]
    probs = np.zeros(y.shape)
    for j in range(k):
        # The model never tags a post the AI gate stops: such posts say nothing of its
        # calibration, and count as untagged when the threshold is chosen.
        known = (mask[:, j] > 0) & m.gate
        a[j], b[j] = _platt(oof[known, j], y[known, j])
        prob = 1.0 / (1.0 + np.exp(-np.clip(a[j] * oof[:, j] + b[j], -30, 30)))
        prob[~m.gate] = 0.0
        if TRENDS[j] in tagger.NEED_LEXICON:
            prob[m.lex[:, j] <= 0] = 0.0  # nor one the lexicon must name and does not
        ok = mask[:, j] > 0
        t[j] = _best_threshold(prob[ok], y[ok, j], none[ok])
        probs[:, j] = prob
    return a, b, _within_budget(t, probs, y, mask > 0, none & (real > 0))


def _within_budget(
    thresholds: np.ndarray, probs: np.ndarray, y: np.ndarray, known: np.ndarray, none: np.ndarray
) -> np.ndarray:
    """`thresholds` raised, one step at a time where it costs the least F1 per false alarm
    removed, until at most FALSE_ALARM_BUDGET of the `none` posts get any trend."""
    t = thresholds.copy()
    if not none.any():
        return t

    def f1(j: int, cut: float) -> float:
        ok = known[:, j]
        pred, gold = probs[ok, j] >= cut, y[ok, j] > 0
        total = pred.sum() + gold.sum()
        return 2 * float((pred & gold).sum()) / total if total else 0.0

    def alarms(cuts: np.ndarray) -> int:
        return int((probs[none] >= cuts).any(1).sum())

    while alarms(t) > FALSE_ALARM_BUDGET * none.sum():
        best, best_cost = -1, np.inf
        for j in range(len(t)):
            if t[j] + _THRESHOLD_STEP > 1.0:
                continue
            raised = t.copy()
            raised[j] += _THRESHOLD_STEP
            removed = alarms(t) - alarms(raised)
            if removed:
                cost = (f1(j, t[j]) - f1(j, raised[j])) / removed
                if cost < best_cost:
                    best, best_cost = j, cost
        if best < 0:  # no single step removes an alarm: raise the most alarming trend
            best = int(np.argmax((probs[none] >= t).sum(0)))
            if t[best] + _THRESHOLD_STEP > 1.0:
                break
        t[best] += _THRESHOLD_STEP
    return t


def _targets(examples: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
    y = np.array([[float(n in e.themes) for n in TRENDS] for e in examples])
    mask = np.ones_like(y)
    for i, e in enumerate(examples):
        if e.negatives:
            # A reader's "wrong trend" says nothing of the other trends: only the flagged
            # ones are known (negatives); the rest of the row does not count.
            mask[i] = [float(n in e.negatives and n not in e.themes) for n in TRENDS]
    return y, mask


def train_model(examples: Sequence[Example], themes: Themes, *, folds: int = 3) -> Model:
    """Fit on every example; calibrate on out-of-fold predictions grouped by outlet."""
    feats = [featurise(e.title, e.text, themes) for e in examples]
    return _train(_Matrix.of(feats), examples, folds)


def _train(m: _Matrix, examples: Sequence[Example], folds: int) -> Model:
    y, mask = _targets(examples)
    groups = [e.group for e in examples]
    if len(set(groups)) < 2:  # one feed: out-of-fold by post is the best there is
        groups = [str(i % folds) for i in range(len(examples))]
    real = np.array([not e.own for e in examples], dtype=float)
    a, b, t = _calibrate(m, y, mask, groups, min(folds, len(set(groups))), real)
    text_w, lw, bias = fit(m, y, mask)
    return Model(text_w, lw.astype(np.float32), bias.astype(np.float32), a, b, t)


# -- figures ------------------------------------------------------------------------------


@dataclass(slots=True)
class Figures:
    """Held-out figures of one tagger."""

    name: str
    per_trend: dict[int, tuple[float, float, float]]  # precision, recall, F1
    micro: float
    macro: float
    false_alarms: float  # share of posts labelled with no trend that get one
    posts: int

    def lines(self) -> list[str]:
        out = [f"{self.name}: {self.posts} held-out posts"]
        out.append(f"  {'#':>2} {'P':>5} {'R':>5} {'F1':>5}")
        for n, (p, r, f) in self.per_trend.items():
            out.append(f"  {n:>2} {p:5.2f} {r:5.2f} {f:5.2f}")
        out.append(
            f"  macro-F1 {self.macro:.3f}  micro-F1 {self.micro:.3f}  "
            f"trend 6 recall {self.per_trend[6][1]:.2f}  false alarms {self.false_alarms:.1%}"
        )
        return out


def figures(name: str, pairs: Iterable[tuple[set[int], frozenset[int]]]) -> Figures:
    """Figures from (predicted, gold) pairs."""
    pairs = list(pairs)
    per: dict[int, tuple[float, float, float]] = {}
    tps = fps = fns = 0
    for n in TRENDS:
        tp = sum(1 for p, g in pairs if n in p and n in g)
        fp = sum(1 for p, g in pairs if n in p and n not in g)
        fn = sum(1 for p, g in pairs if n not in p and n in g)
        tps, fps, fns = tps + tp, fps + fp, fns + fn
        per[n] = (_ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn))
    none = [p for p, g in pairs if not g]
    return Figures(
        name=name,
        per_trend=per,
        micro=_ratio(2 * tps, 2 * tps + fps + fns),
        macro=statistics.fmean(f for _, _, f in per.values()),
        false_alarms=_ratio(sum(1 for p in none if p), len(none)),
        posts=len(pairs),
    )


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def cross_validate(
    examples: Sequence[Example], themes: Themes, *, folds: int = FOLDS, inner_folds: int = 3
) -> tuple[Figures, Figures]:
    """The learned model's and the lexicon tagger's figures on the same held-out outlets.

    Our own examples, readers' flags and posts loaded unscored are never scored; they train
    every fold but those testing their own outlet, so no fold has seen the outlet it tests.
    """
    feats = [featurise(e.title, e.text, themes) for e in examples]
    m = _Matrix.of(feats)
    scored = np.array([e.scored and not e.own and not e.negatives for e in examples])
    groups = [e.group for e in examples]
    predicted: dict[int, set[int]] = {}
    scored_at = np.flatnonzero(scored)
    for fold in group_folds([groups[i] for i in scored_at], folds):
        test = scored_at[fold]
        tested = {groups[i] for i in test}
        train = np.array([i for i, group in enumerate(groups) if group not in tested])
        model = _train(m.take(train), [examples[i] for i in train], inner_folds)
        for i in test:
            prob = model.probabilities(feats[i])
            predicted[int(i)] = {TRENDS[k] for k in model.kept(feats[i], prob)}
    order = sorted(predicted)
    learned = figures("learned tagger", ((predicted[i], examples[i].themes) for i in order))
    lexicon = figures(
        "lexicon tagger (before)",
        (
            (
                {t.trend for t in lexicon_tag(examples[i].title, examples[i].text, themes)},
                examples[i].themes,
            )
            for i in order
        ),
    )
    return learned, lexicon


Progress = Callable[[str], None]
