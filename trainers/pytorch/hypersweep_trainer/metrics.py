"""Validation metrics, only to choose the best epoch and to stop early (the worker stores the metrics it scores
itself from the reported probabilities with packages/metrics). The definitions are packages/metrics': binary
tasks threshold the positive class's probability at 0.5, multiclass ones take the first argmax; F1 of the
positive class is 2TP / (2TP + FP + FN) (0 when undefined); AUCs are Mann–Whitney with ties counted half;
an AUC is null when a class is missing, and macroAuc (multiclass) is then null as well."""

import numpy as np


def roc_auc(is_pos: np.ndarray, score: np.ndarray):
    pos, neg = score[is_pos], score[~is_pos]
    if len(pos) == 0 or len(neg) == 0:
        return None
    neg_sorted = np.sort(neg)
    below = np.searchsorted(neg_sorted, pos, side="left")
    upto = np.searchsorted(neg_sorted, pos, side="right")
    return float((below.sum() + 0.5 * (upto - below).sum()) / (len(pos) * len(neg)))


def _ratio(a, b):
    return a / b if b else 0.0


def class_scores(cm: np.ndarray, c: int) -> dict:
    tp, predicted, actual = int(cm[c, c]), int(cm[:, c].sum()), int(cm[c, :].sum())
    return {"precision": _ratio(tp, predicted), "recall": _ratio(tp, actual), "f1": _ratio(2 * tp, predicted + actual)}


def score_split(labels: np.ndarray, probs: np.ndarray, task: str, pos: int) -> dict:
    """labels: (n,) class indices; probs: (n, k) float32 probabilities."""
    k = probs.shape[1]
    p64 = probs.astype(np.float64)
    is_pos = labels == pos
    auc = roc_auc(is_pos, p64[:, pos])
    if task == "binary":
        pred_pos = p64[:, pos] >= 0.5
        cm2 = np.zeros((2, 2), dtype=np.int64)
        np.add.at(cm2, (is_pos.astype(int), pred_pos.astype(int)), 1)
        out = {**class_scores(cm2, 1), "accuracy": _ratio(int(np.trace(cm2)), len(labels)), "auc": auc}
        out["macroF1"] = sum(class_scores(cm2, c)["f1"] for c in range(2)) / 2
        return out
    pred = probs.argmax(axis=1)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    out = {**class_scores(cm, pos), "accuracy": _ratio(int(np.trace(cm)), len(labels)), "auc": auc}
    per = [roc_auc(labels == c, p64[:, c]) for c in range(k)]
    out["macroAuc"] = None if any(a is None for a in per) else sum(per) / k
    out["macroF1"] = sum(class_scores(cm, c)["f1"] for c in range(k)) / k
    return out
