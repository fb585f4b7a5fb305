"""Checkpoints, after every epoch: `checkpointDir/epoch-NNNN/` holds
  model.safetensors   every model tensor (BatchNorm running statistics included), torchvision names
  optimizer.pt        Adam's state_dict (step counts, first and second moments)
  state.json          format, fingerprint, epoch, the augmentation PRNG's state, progress (best epoch, early
                      stopping, every epoch's record with its validation predictions)
A directory named epoch-NNNN is complete: it is written as `.tmp-*`, every file fsync'ed, then renamed (and the
parent fsync'ed); the newest is resumed, the best is kept (its weights are the trial's output), every other
one is removed. A checkpoint of another trial configuration (or of the TensorFlow.js trainer) is refused, never
silently trained over."""

import json
import os
import re
import shutil

import torch

from .errors import CheckpointError
from .safetensors_io import load_safetensors, save_safetensors

FORMAT = "hypersweep-checkpoint-torch/1"
DIR_PATTERN = re.compile(r"^epoch-(\d{4,})$")


def dir_name(epoch: int) -> str:
    return f"epoch-{epoch:04d}"


def checkpoint_path(root: str, epoch: int) -> str:
    return os.path.join(root, dir_name(epoch))


def _list(root: str) -> list:
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    found = [(int(m.group(1)), os.path.join(root, n)) for n in names if (m := DIR_PATTERN.match(n))]
    return sorted(found, reverse=True)


def clean_temp(root: str) -> None:
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return
    for n in names:
        if n.startswith(".tmp-"):
            shutil.rmtree(os.path.join(root, n), ignore_errors=True)


def _sync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def model_tensors(model) -> dict:
    return {k: v for k, v in model.state_dict().items()}


def write_checkpoint(root: str, model, optimizer, state: dict) -> str:
    os.makedirs(root, exist_ok=True)
    final = checkpoint_path(root, state["epoch"])
    tmp = os.path.join(root, f".tmp-{dir_name(state['epoch'])}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.mkdir(tmp)
    save_safetensors(os.path.join(tmp, "model.safetensors"), model_tensors(model))
    with open(os.path.join(tmp, "optimizer.pt"), "wb") as f:
        torch.save(optimizer.state_dict(), f)
        f.flush()
        os.fsync(f.fileno())
    _write_synced(os.path.join(tmp, "state.json"), json.dumps({"format": FORMAT, **state}).encode("utf-8"))
    _sync_dir(tmp)
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    _sync_dir(root)
    for epoch, path in _list(root):
        if epoch not in (state["epoch"], state["progress"]["bestEpoch"]):
            shutil.rmtree(path, ignore_errors=True)
    return final


def find_latest(root: str, fingerprint: dict):
    found = _list(root)
    if not found:
        return None
    _, path = found[0]
    try:
        with open(os.path.join(path, "state.json"), encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} has no readable state.json ({e})")
    if state.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} has format {state.get('format')}, expected {FORMAT}")
    keys = sorted(set(state["fingerprint"]) | set(fingerprint))
    diff = [f"{k}: checkpoint {json.dumps(state['fingerprint'].get(k))}, spec {json.dumps(fingerprint.get(k))}"
            for k in keys if json.dumps(state["fingerprint"].get(k), sort_keys=True) != json.dumps(fingerprint.get(k), sort_keys=True)]
    if diff:
        raise CheckpointError(f"checkpoint {path} belongs to another trial configuration ({'; '.join(diff)})")
    return path, state


def restore(path: str, model, optimizer, device) -> None:
    try:
        model.load_state_dict(load_safetensors(os.path.join(path, "model.safetensors")))
        optimizer.load_state_dict(torch.load(os.path.join(path, "optimizer.pt"), map_location=device))
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        raise CheckpointError(f"checkpoint {path} cannot be restored: {e}")


def publish_weights(best_dir: str, output_dir: str) -> str:
    """The best epoch's weights as outputDir/model.safetensors (torchvision names: importable as `pretrained`)."""
    os.makedirs(output_dir, exist_ok=True)
    target = os.path.join(output_dir, "model.safetensors")
    tmp = f"{target}.tmp-{os.getpid()}"
    shutil.copyfile(os.path.join(best_dir, "model.safetensors"), tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    _sync_dir(output_dir)
    return target


def restore_model(path: str, model) -> None:
    model.load_state_dict(load_safetensors(os.path.join(path, "model.safetensors")))
