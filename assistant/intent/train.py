"""Train and evaluate the linear intent model (numpy + scipy's L-BFGS; no other dependency).

Steps, all deterministic: embed every message once (cached by embedder and text hash) → standardise
the columns → pick the L2 strength by stratified 5-fold cross-validated log-loss on the training set
→ fit a temperature on the out-of-fold logits (calibration) → fit on the whole training set → fold
the standardisation into ``W``/``b`` → evaluate on the dev set. Class weights are balanced so that
the small hand-off classes (case, complaint, human) are not drowned by questions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from assistant.embedders import Embedder

from .base import HANDOFF_INTENTS, INTENTS
from .features import FEATURE_NAMES
from .linear import LinearWeights, design_row, softmax

Log = Callable[[str], None]
L2_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
FOLDS = 5
SEED = 14


@dataclass
class Example:
    """One labelled message."""

    id: str
    text: str
    label: str


def load_examples(path: Path) -> list[Example]:
    """Rows of an intent JSONL file (``id``, ``question``, ``intent``); unknown labels are an error."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        obj = json.loads(line)
        if obj.get("intent") not in INTENTS:
            raise ValueError(f"{path}:{n}: intent {obj.get('intent')!r} is not one of {INTENTS}")
        out.append(Example(str(obj["id"]), str(obj["question"]), str(obj["intent"])))
    return out


def design(texts: Sequence[str], embedder: Embedder | None, cache_dir: Path | None = None) -> np.ndarray:
    """The model inputs of many messages; embeddings are cached per message under ``cache_dir`` (by
    embedder and text hash), so adding training rows embeds only the new ones."""
    if embedder is None:
        return np.vstack([design_row(t, None)[0] for t in texts]).astype(np.float64)
    vectors = _embeddings(list(texts), embedder, cache_dir)
    return np.vstack([design_row(t, embedder, v)[0] for t, v in zip(texts, vectors, strict=True)]).astype(
        np.float64
    )


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _embeddings(texts: list[str], embedder: Embedder, cache_dir: Path | None) -> list[np.ndarray]:
    """Query embeddings of ``texts``; those already in the cache file are not recomputed."""
    name = hashlib.sha256(embedder.name.encode("utf-8")).hexdigest()[:16]
    path = cache_dir / f"intent-emb-{name}.npz" if cache_dir else None
    known: dict[str, np.ndarray] = {}
    if path is not None and path.is_file():
        with np.load(path) as z:
            known = dict(zip(z["keys"].tolist(), z["vectors"], strict=True))
    missing = [t for t in dict.fromkeys(texts) if _key(t) not in known]
    for t in missing:
        known[_key(t)] = np.asarray(embedder.embed_query(t), dtype=np.float32).reshape(-1)
    if missing and path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, keys=np.array(list(known)), vectors=np.vstack(list(known.values())))
    return [known[_key(t)] for t in texts]


# --- fitting ---------------------------------------------------------------------------------------


def _loss_grad(
    theta: np.ndarray, X: np.ndarray, Y: np.ndarray, sw: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    d, k = X.shape[1], Y.shape[1]
    W, b = theta[: d * k].reshape(d, k), theta[d * k :]
    logits = X @ W + b
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    n = sw.sum()
    loss = -(sw * (Y * logp).sum(axis=1)).sum() / n + 0.5 * l2 * (W * W).sum() / n
    G = (np.exp(logp) - Y) * sw[:, None] / n
    gW = X.T @ G + l2 * W / n
    return float(loss), np.concatenate([gW.ravel(), G.sum(axis=0)])


def fit(X: np.ndarray, y: np.ndarray, l2: float, k: int = len(INTENTS)) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression with balanced class weights and an L2 penalty (bias unpenalised)."""
    Y = np.eye(k)[y]
    counts = np.bincount(y, minlength=k).astype(np.float64)
    sw = (len(y) / (k * np.maximum(counts, 1)))[y]
    theta0 = np.zeros(X.shape[1] * k + k)
    res = minimize(
        _loss_grad, theta0, args=(X, Y, sw, l2), jac=True, method="L-BFGS-B", options={"maxiter": 500}
    )
    d = X.shape[1]
    return res.x[: d * k].reshape(d, k), res.x[d * k :]


def folds(y: np.ndarray, n_folds: int = FOLDS, seed: int = SEED) -> np.ndarray:
    """Stratified fold number of every row (each label's rows shuffled, then dealt round-robin)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(y), dtype=int)
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        out[idx] = np.arange(len(idx)) % n_folds
    return out


def oof_logits(X: np.ndarray, y: np.ndarray, l2: float, fold_of: np.ndarray) -> np.ndarray:
    """Out-of-fold logits: each row scored by the model fitted without its fold."""
    out = np.zeros((len(y), len(INTENTS)))
    for f in np.unique(fold_of):
        tr, te = fold_of != f, fold_of == f
        W, b = fit(X[tr], y[tr], l2)
        out[te] = X[te] @ W + b
    return out


def log_loss(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    p = softmax(logits / temperature)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the log-loss of held-out logits (calibration, Guo et al. 2017)."""
    res = minimize_scalar(lambda t: log_loss(logits, y, t), bounds=(0.05, 20.0), method="bounded")
    return float(res.x)


# --- evaluation ------------------------------------------------------------------------------------


def confusion(y: np.ndarray, pred: np.ndarray, k: int = len(INTENTS)) -> np.ndarray:
    """Rows: true label, columns: predicted label."""
    m = np.zeros((k, k), dtype=int)
    for t, p in zip(y, pred, strict=True):
        m[t, p] += 1
    return m


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """ECE of the top label: Σ over confidence bins of |accuracy − mean confidence| × share of rows."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    ece = 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)


def reliability(probs: np.ndarray, y: np.ndarray, bins: int = 5) -> list[dict[str, str | float | int]]:
    """The reliability table of the top label: per confidence bin, rows, mean confidence and accuracy."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    out: list[dict[str, str | float | int]] = []
    edges = np.linspace(0.0, 1.0, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            out.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "rows": int(sel.sum()),
                    "confidence": round(float(conf[sel].mean()), 3),
                    "accuracy": round(float(correct[sel].mean()), 3),
                }
            )
    return out


def scores(y: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-label precision/recall, confusion matrix, ECE and the hand-off view of the labels."""
    pred = probs.argmax(axis=1)
    cm = confusion(y, pred)
    per: dict[str, dict[str, float | int | None]] = {}
    for i, label in enumerate(INTENTS):
        tp, support, predicted = int(cm[i, i]), int(cm[i].sum()), int(cm[:, i].sum())
        per[label] = {
            "support": support,
            "precision": tp / predicted if predicted else None,
            "recall": tp / support if support else None,
        }
    handoff = [INTENTS.index(i) for i in sorted(HANDOFF_INTENTS)]
    q = INTENTS.index("question")
    is_q, to_person = y == q, np.isin(pred, handoff)
    truly = np.isin(y, handoff)
    return {
        "count": len(y),
        "accuracy": float((pred == y).mean()) if len(y) else None,
        "per_label": per,
        "confusion": {"labels": list(INTENTS), "rows_true_cols_pred": cm.tolist()},
        "ece": expected_calibration_error(probs, y) if len(y) else None,
        "reliability": reliability(probs, y) if len(y) else [],
        # a question sent to a person, and a case / complaint / request for a person that was not
        "question_false_handoff": float(to_person[is_q].mean()) if is_q.any() else None,
        "question_not_answered": float((pred != q)[is_q].mean()) if is_q.any() else None,
        "handoff_recall": float(to_person[truly].mean()) if truly.any() else None,
    }


def label_rates(probs: np.ndarray) -> dict[str, float]:
    """Share of rows predicted as each label (for sets with one expected behaviour, e.g. all questions)."""
    pred = probs.argmax(axis=1)
    return {label: float((pred == i).mean()) for i, label in enumerate(INTENTS)}


# --- the whole procedure ---------------------------------------------------------------------------


def select_l2(Z: np.ndarray, y: np.ndarray, log: Log) -> tuple[float, np.ndarray, dict[str, float]]:
    """The L2 strength of ``L2_GRID`` with the lowest cross-validated log-loss, its out-of-fold logits,
    and the log-loss of every strength tried."""
    fold_of = folds(y)
    cv: dict[str, float] = {}
    best_l2, best_loss, best_logits = L2_GRID[0], float("inf"), np.zeros(0)
    for l2 in L2_GRID:
        logits = oof_logits(Z, y, l2, fold_of)
        cv[str(l2)] = loss = log_loss(logits, y)
        acc = (logits.argmax(1) == y).mean()
        log(f"intent: l2={l2:<5} cross-validated log-loss {loss:.4f}, accuracy {acc:.3f}")
        if loss < best_loss:
            best_l2, best_loss, best_logits = l2, loss, logits
    return best_l2, best_logits, cv


@dataclass
class TrainResult:
    """The fitted weights and the figures of a training run (report.json)."""

    weights: LinearWeights
    report: dict[str, Any]


def train(
    train_rows: Sequence[Example],
    dev_rows: Sequence[Example],
    embedder: Embedder | None,
    log: Log,
    cache_dir: Path | None = None,
    extra: Mapping[str, Sequence[str]] | None = None,
    provenance: dict[str, Any] | None = None,
) -> TrainResult:
    """Select L2 by cross-validation, calibrate, fit, evaluate on ``dev_rows`` and on ``extra`` text sets.

    ``extra`` maps a name to messages whose label distribution is reported (e.g. the citizen posts,
    which should all go to a person, or the colloquial knowledge-base questions).
    """
    y = np.array([INTENTS.index(r.label) for r in train_rows])
    log(f"intent: embedding {len(train_rows)} training messages")
    X = design([r.text for r in train_rows], embedder, cache_dir)
    mu, sd = X.mean(axis=0), X.std(axis=0)
    sd[sd < 1e-6] = 1.0
    Z = (X - mu) / sd
    best_l2, best_logits, cv = select_l2(Z, y, log)
    temperature = fit_temperature(best_logits, y)
    cv_probs = softmax(best_logits / temperature)
    Wz, bz = fit(Z, y, best_l2)
    W = Wz / sd[:, None]
    b = bz - (mu / sd) @ Wz
    weights = LinearWeights(
        W=W,
        b=b,
        temperature=temperature,
        labels=INTENTS,
        feature_names=FEATURE_NAMES,
        embedder=embedder.name if embedder is not None else "",
        meta={"l2": best_l2, "train_rows": len(train_rows), **(provenance or {})},
    )
    report: dict[str, Any] = {
        "l2": best_l2,
        "temperature": temperature,
        "cv_log_loss": cv,
        "train_cv": scores(y, cv_probs),
    }
    if dev_rows:
        yd = np.array([INTENTS.index(r.label) for r in dev_rows])
        log(f"intent: embedding {len(dev_rows)} dev messages")
        probs = predict_matrix(weights, design([r.text for r in dev_rows], embedder, cache_dir))
        report["dev"] = scores(yd, probs)
        report["dev_errors"] = [
            {
                "id": r.id,
                "text": r.text,
                "label": r.label,
                "predicted": INTENTS[int(p.argmax())],
                "p": round(float(p.max()), 3),
            }
            for r, p, t in zip(dev_rows, probs, yd, strict=True)
            if int(p.argmax()) != t
        ]
    for name, texts in (extra or {}).items():
        log(f"intent: embedding {len(texts)} messages of {name}")
        report[name] = label_rates(predict_matrix(weights, design(list(texts), embedder, cache_dir)))
    return TrainResult(weights, report)


def predict_matrix(weights: LinearWeights, X: np.ndarray) -> np.ndarray:
    """Calibrated probabilities of many design rows."""
    return softmax((X @ weights.W + weights.b) / weights.temperature)


def markdown(report: dict[str, Any], split: str = "dev") -> str:
    """The confusion matrix and per-label precision/recall of one split, as Markdown tables."""
    s = report[split]
    labels = s["confusion"]["labels"]
    lines = [
        "| true \\ predicted | " + " | ".join(labels) + " | recall |",
        "|---|" + "---:|" * (len(labels) + 1),
    ]
    for label, row in zip(labels, s["confusion"]["rows_true_cols_pred"], strict=True):
        rec = s["per_label"][label]["recall"]
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + f" | {_f(rec)} |")
    lines.append("| precision | " + " | ".join(_f(s["per_label"][lb]["precision"]) for lb in labels) + " | |")
    return "\n".join(lines)


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"
