"""One trial, start (or resume) to result, with the recipe of packages/trainer/src/train-trial.ts:
- the model for the scenario's classes, initialised from torch's generator seeded with derive_seed(seed, 1);
  Adam (β 0.9/0.999, ε 1e-8) at spec.learningRate, StepLR per epoch;
- search: exactly spec.epochs epochs; final: up to spec.epochs with early stopping; the result is the best epoch
  by spec.selectionMetric under core's epoch rule, its weights published to spec.outputDir;
- after every epoch: an `epoch` message with the validation probabilities, a checkpoint, a `checkpoint` message;
- batch order by (seed, epoch) as packages/data orders it; augmentations drawn from a Mulberry32 seeded with
  derive_seed(seed, 2) whose state is checkpointed (a resumed trial draws what an uninterrupted one would)."""

import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint as ckpt
from .augment import augment_batch
from .errors import CancelledError, DataError, DivergedError, TrainerError
from .metrics import score_split
from .models import build_model
from .pretrained import import_pretrained
from .progress import initial_progress, record_epoch, should_continue, step_learning_rate
from .rng import Mulberry32, derive_seed
from .runtime import CANCEL
from .spec import trial_fingerprint


def to_device(x: np.ndarray, device) -> torch.Tensor:
    """NHWC float32 (the cache's layout) → NCHW on the device."""
    return torch.from_numpy(x).to(device, non_blocking=True).permute(0, 3, 1, 2).contiguous()


def check_data(spec: dict, data) -> int:
    sc = spec["data"]["scenario"]
    if sc["positiveClass"] not in data.classes:
        raise DataError(f"positive class \"{sc['positiveClass']}\" is not one of {data.classes}")
    if spec["task"] == "binary" and len(data.classes) != 2:
        raise DataError(f"task \"binary\" needs exactly 2 classes, the scenario has {len(data.classes)}")
    return data.classes.index(sc["positiveClass"])


def predictions_of(images: list, labels: np.ndarray, probs: np.ndarray) -> dict:
    """The contract's Predictions; probabilities as the shortest decimals that read back as the same float32."""
    rows = [[float(np.format_float_positional(v, unique=True, trim="-")) for v in row] for row in probs]
    return {"images": list(images), "labels": [int(v) for v in labels], "probs": rows}


class Trial:
    def __init__(self, spec: dict, data, emit, log, device, backend: dict):
        self.spec, self.data, self.emit, self.log, self.device, self.backend = spec, data, emit, log, device, backend
        self.pos = check_data(spec, data)
        torch.manual_seed(derive_seed(spec["seed"], 1))
        self.model = build_model(spec["architecture"], len(data.classes), spec["imageSize"]).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=spec["learningRate"], betas=(0.9, 0.999), eps=1e-8)
        self.rng = Mulberry32(derive_seed(spec["seed"], 2))
        self.last_checkpoint = 0

    def cancelled(self) -> CancelledError:
        return CancelledError(self.last_checkpoint)

    def predict(self, split: str):
        self.model.eval()
        labels, probs, loss_sum = [], [], 0.0
        with torch.no_grad():
            for x, y in self.data.eval_batches(split, self.spec["batchSize"]):
                if CANCEL.is_set():
                    raise self.cancelled()
                logp = F.log_softmax(self.model(to_device(x, self.device)).float(), dim=1)
                yt = torch.from_numpy(y).to(self.device)
                loss_sum -= float(logp.gather(1, yt.view(-1, 1)).sum())
                probs.append(logp.exp().cpu().numpy().astype(np.float32))
                labels.append(y)
        if not labels:
            raise DataError(f"the {split} split is empty: nothing to evaluate on")
        labels = np.concatenate(labels)
        return labels, np.concatenate(probs), loss_sum / len(labels)

    def train_epoch(self, epoch: int) -> float:
        self.model.train()
        loss_sum, seen = 0.0, 0
        for x, y in self.data.train_batches(epoch, self.spec["batchSize"], self.spec["seed"]):
            if CANCEL.is_set():
                raise self.cancelled()
            xt = augment_batch(to_device(x, self.device), self.spec["augmentations"], self.spec["augmentationParams"], self.rng)
            loss = F.cross_entropy(self.model(xt), torch.from_numpy(y).to(self.device))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            value = float(loss)
            if not math.isfinite(value):
                raise DivergedError(epoch, f"training batch after {seen} samples", value)
            try:
                self.optimizer.step()
            except RuntimeError as e:
                # Adam's step size (lr / bias correction) beyond float32: the update itself is infinite.
                if "overflow" not in str(e):
                    raise
                raise DivergedError(epoch, f"optimizer step after {seen} samples", math.inf)
            loss_sum += value * len(y)
            seen += len(y)
        if CANCEL.is_set():
            raise self.cancelled()
        if seen == 0:
            raise DataError(f"epoch {epoch}: the training split gave no samples")
        return loss_sum / seen

    def run_epoch(self, epoch: int) -> dict:
        started = time.perf_counter()
        lr = step_learning_rate(self.spec["learningRate"], epoch, self.spec["schedule"])
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        train_loss = self.train_epoch(epoch)
        labels, probs, val_loss = self.predict("valid")
        if not math.isfinite(val_loss) or not np.isfinite(probs).all():
            raise DivergedError(epoch, "validation", val_loss)
        metrics = score_split(labels, probs, self.spec["task"], self.pos)
        return {"epoch": epoch, "trainLoss": train_loss, "valLoss": val_loss, "lr": lr,
                "durationMs": round((time.perf_counter() - started) * 1000), "metrics": metrics,
                "predictions": predictions_of(self.data.hashes["valid"], labels, probs)}

    def resume(self) -> dict:
        spec = self.spec
        ckpt.clean_temp(spec["checkpointDir"])
        found = ckpt.find_latest(spec["checkpointDir"], trial_fingerprint(spec))
        if not found:
            if spec.get("pretrained"):
                import_pretrained(self.model, spec["architecture"], spec["pretrained"], spec.get("pretrainedHead"), self.log)
            return initial_progress()
        path, state = found
        ckpt.restore(path, self.model, self.optimizer, self.device)
        self.rng.state = state["rngState"]
        return state["progress"]

    def run(self) -> dict:
        spec = self.spec
        progress = self.resume()
        self.last_checkpoint = progress["epoch"]
        self.emit({"type": "ready", "backend": self.backend["name"], "versions": self.backend["versions"],
                   "resumedFromEpoch": progress["epoch"]})
        # Replay the checkpointed epochs: the worker's writes are idempotent, and an epoch checkpointed but never
        # recorded (its worker died in between) is not lost.
        for rec in progress["history"]:
            self.emit({"type": "epoch", **rec})
        while should_continue(progress, spec["epochs"]):
            rec = self.run_epoch(progress["epoch"] + 1)
            progress = record_epoch(progress, rec, spec)
            self.emit({"type": "epoch", **rec})
            self.log(f"epoch {rec['epoch']}: train {rec['trainLoss']:.4f} val {rec['valLoss']:.4f} "
                     f"{spec['selectionMetric']} {rec['metrics'].get(spec['selectionMetric'], rec['valLoss'])} ({rec['durationMs']} ms)")
            path = ckpt.write_checkpoint(spec["checkpointDir"], self.model, self.optimizer, {
                "fingerprint": trial_fingerprint(spec), "epoch": rec["epoch"], "rngState": self.rng.state,
                "progress": progress, "savedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            })
            self.last_checkpoint = rec["epoch"]
            self.emit({"type": "checkpoint", "epoch": rec["epoch"], "path": path})
        if progress["stopped"]:
            self.log(f"early stopping after epoch {progress['epoch']} (best {progress['bestEpoch']})")
        return self.finish(progress)

    def finish(self, progress: dict) -> dict:
        best = next((h for h in progress["history"] if h["epoch"] == progress["bestEpoch"]), None)
        if best is None:
            raise TrainerError(f"no record of best epoch {progress['bestEpoch']}")
        best_dir = ckpt.checkpoint_path(self.spec["checkpointDir"], best["epoch"])
        result = {"type": "result", "bestEpoch": best["epoch"], "metrics": {**best["metrics"], "valLoss": best["valLoss"]},
                  "weightsPath": ckpt.publish_weights(best_dir, self.spec["outputDir"])}
        if self.spec["evaluateTest"]:
            ckpt.restore_model(best_dir, self.model)
            labels, probs, loss = self.predict("test")
            if not math.isfinite(loss):
                raise DivergedError(best["epoch"], "test", loss)
            vl, vp, _ = self.predict("valid")
            result["predictions"] = {"val": predictions_of(self.data.hashes["valid"], vl, vp),
                                     "test": predictions_of(self.data.hashes["test"], labels, probs)}
        return result
