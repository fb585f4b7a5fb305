"""Bookkeeping between epochs, as plain JSON for the checkpoint: the StepLR schedule, the best epoch under core's
epoch rule (packages/core/src/epoch-selection.ts: an epoch improves when the selection metric rises by more than
minDelta, or ties it within minDelta and the validation loss falls), early stopping (final trainings only)."""

import math


def step_learning_rate(base: float, epoch: int, schedule: dict) -> float:
    return base * schedule["gamma"] ** ((epoch - 1) // schedule["stepSize"])


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def metric_score(metric: str, values: dict, task: str):
    if metric == "valLoss":
        return -values["valLoss"] if _finite(values.get("valLoss")) else None
    v = values.get(metric)
    if metric == "macroAuc" and task == "binary" and not _finite(v):
        v = values.get("auc")
    return v if _finite(v) else None


def _loss_falls(candidate, best) -> bool:
    return _finite(candidate) and (not _finite(best) or candidate < best)


def epoch_improves(value, val_loss, best, min_delta: float) -> bool:
    if best is None:
        return True
    b = best["value"]
    if value is None:
        return b is None and _loss_falls(val_loss, best["valLoss"])
    if b is None or value > b + min_delta:
        return True
    return value >= b - min_delta and _loss_falls(val_loss, best["valLoss"])


def initial_progress() -> dict:
    return {"epoch": 0, "bestEpoch": 0, "bestValue": None, "bestValLoss": None, "wait": 0, "stopped": False, "history": []}


def stopping_rule(spec: dict):
    es = spec.get("earlyStopping")
    if spec["stage"] != "final" or not es:
        return None
    return {"patience": es["patience"], "minDelta": es.get("minDelta", 0)}


def record_epoch(p: dict, rec: dict, spec: dict) -> dict:
    rule = stopping_rule(spec)
    min_delta = rule["minDelta"] if rule else 0
    value = metric_score(spec["selectionMetric"], {**rec["metrics"], "valLoss": rec["valLoss"]}, spec["task"])
    val_loss = rec["valLoss"] if _finite(rec["valLoss"]) else None
    best = None if p["bestEpoch"] == 0 else {"value": p["bestValue"], "valLoss": p.get("bestValLoss")}
    nxt = dict(p, epoch=rec["epoch"], history=p["history"] + [rec])
    if epoch_improves(value, val_loss, best, min_delta):
        nxt.update(bestEpoch=rec["epoch"], bestValue=value, bestValLoss=val_loss, wait=0)
    else:
        nxt["wait"] = p["wait"] + 1
    nxt["stopped"] = rule is not None and nxt["wait"] >= rule["patience"]
    return nxt


def should_continue(p: dict, max_epochs: int) -> bool:
    return not p["stopped"] and p["epoch"] < max_epochs
