"""The trial's data, read as packages/data reads it (docs/cache-format.md): the version's manifest.json, the
scenario's rows per split (resolveScenario with the spec's classes), the preprocessing cache's uint8 images
(memory-mapped), the training rows' per-channel statistics (memoised in the cache's stats/ directory), and
batches: training batches shuffled by (seed, epoch) exactly as openTrialData shuffles them, evaluation batches in
split order."""

import hashlib
import json
import os

import numpy as np

from .cache import ensure_cache
from .errors import DataError
from .rng import Mulberry32, data_seed, shuffle_in_place

LUNG_PRESENCE = ("full", "partial", "none")
DIAGNOSES = ("healthy", "covid19", "bacterial", "viral", "fungal", "ards")
SPLITS = ("train", "valid", "test")


def read_manifest(version_dir: str) -> dict:
    try:
        with open(os.path.join(version_dir, "manifest.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(f"{version_dir} is not a dataset version: no readable manifest.json ({e})")


def _filters(scenario: dict) -> dict:
    f = scenario.get("filters") or {}
    lung = f.get("lungPresence", ["full"] if scenario["modality"] == "ct" else list(LUNG_PRESENCE))
    if not isinstance(lung, list) or not all(v in LUNG_PRESENCE for v in lung):
        raise DataError(f"scenario filter lungPresence must be a list of {', '.join(LUNG_PRESENCE)}, got {json.dumps(lung)}")
    suitable = f.get("suitable")
    if suitable is not None and not isinstance(suitable, bool):
        raise DataError(f"scenario filter suitable must be true or false, got {json.dumps(suitable)}")
    return {"lungPresence": lung, "suitable": suitable}


def resolve_scenario(rows: list, scenario: dict) -> dict:
    """rowIndices and labels per split, as packages/data's resolveScenario with `classes` given."""
    task, classes = scenario["task"], list(scenario["classes"])
    allowed = ("other", "covid19") if task == "binary" else DIAGNOSES
    for c in classes:
        if c not in allowed:
            raise DataError(f"class {json.dumps(c)} is not a {task} label (expected one of {', '.join(allowed)})")
    f = _filters(scenario)
    out = {s: ([], []) for s in SPLITS}
    for i, r in enumerate(rows):
        if r["modality"] != scenario["modality"]:
            continue
        if r["lungPresence"] not in f["lungPresence"] or (f["suitable"] is not None and r["suitable"] != f["suitable"]):
            continue
        name = ("covid19" if r["diagnosis"] == "covid19" else "other") if task == "binary" else r["diagnosis"]
        if name not in classes or r.get("split") not in SPLITS:
            continue
        out[r["split"]][0].append(i)
        out[r["split"]][1].append(classes.index(name))
    return {"rows": {s: out[s][0] for s in SPLITS}, "labels": {s: out[s][1] for s in SPLITS}}


def stats_key(file_names: list, indices: list) -> str:
    names = [file_names[i] for i in sorted(indices)]
    text = json.dumps(names, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def compute_stats(images: np.ndarray, indices: list) -> dict:
    """Per-channel mean and standard deviation in pixel units (exact integer sums, as cache.ts computes them)."""
    s = np.zeros(3, dtype=np.int64)
    q = np.zeros(3, dtype=np.int64)
    for start in range(0, len(indices), 256):
        block = images[np.asarray(indices[start:start + 256])].reshape(-1, 3).astype(np.int64)
        s += block.sum(axis=0)
        q += (block * block).sum(axis=0)
    n = len(indices) * images.shape[1] * images.shape[2]
    mean = [int(s[c]) / n for c in range(3)]
    std = [max(0.0, int(q[c]) / n - mean[c] * mean[c]) ** 0.5 or 1.0 for c in range(3)]
    return {"mean": mean, "std": std, "count": len(indices)}


def norm_stats(cache: dict, images: np.ndarray, indices: list) -> dict:
    if not indices:
        raise DataError("normalisation statistics need at least one training image")
    path = os.path.join(cache["dir"], "stats", stats_key(cache["fileNames"], indices) + ".json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        pass
    stats = compute_stats(images, indices)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}-{os.urandom(4).hex()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(stats, f)
    os.replace(tmp, path)
    return stats


class Normaliser:
    """uint8 HWC → normalised float32, as packages/data/src/normalise.ts: ((v − mean_hi) − mean_lo) · (1/std)."""

    def __init__(self, stats: dict):
        mean = np.asarray(stats["mean"], dtype=np.float64)
        self.hi = mean.astype(np.float32)
        self.lo = (mean - self.hi.astype(np.float64)).astype(np.float32)
        self.inv = (1.0 / np.asarray(stats["std"], dtype=np.float64)).astype(np.float32)

    def __call__(self, u8: np.ndarray) -> np.ndarray:
        x = u8.astype(np.float32)
        x -= self.hi
        x -= self.lo
        x *= self.inv
        return x


class TrialData:
    """One trial's view of a dataset version: classes, per-split rows and labels, image hashes, batches."""

    def __init__(self, data: dict, image_size: int, stats: dict | None = None, test_images: list | None = None):
        manifest = read_manifest(data["datasetDir"])
        sc = data["scenario"]
        self.classes = list(sc["classes"])
        resolved = resolve_scenario(manifest["rows"], sc)
        self.rows, self.labels = resolved["rows"], resolved["labels"]
        if test_images is not None:
            self._select_test(manifest["rows"], test_images, sc["key"])
        if stats is None and not self.rows["train"]:
            raise DataError(f"scenario {sc['key']} has no training images")
        self.cache = ensure_cache(data["datasetDir"], image_size, data["cacheDir"], manifest)
        self.images = np.memmap(self.cache["dataPath"], dtype=np.uint8, mode="r",
                                shape=(self.cache["count"], image_size, image_size, 3))
        self.stats = stats or norm_stats(self.cache, self.images, self.rows["train"])
        self.normalise = Normaliser(self.stats)
        self.image_size = image_size
        self.hashes = {s: [manifest["rows"][i]["sha256"] for i in self.rows[s]] for s in SPLITS}

    def _select_test(self, rows: list, images: list, key: str) -> None:
        where = {}
        for s in SPLITS:
            for row, label in zip(self.rows[s], self.labels[s]):
                where.setdefault(rows[row]["sha256"], (row, label))
        picked = []
        for i, h in enumerate(images):
            if h not in where:
                raise DataError(f"image {i} (sha256 {h}) is not a row of scenario {key} in this dataset version")
            picked.append(where[h])
        self.rows["test"] = [p[0] for p in picked]
        self.labels["test"] = [p[1] for p in picked]

    def counts(self) -> dict:
        return {s: len(self.rows[s]) for s in SPLITS}

    def _batches(self, pairs: list, batch_size: int):
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            rows = np.fromiter((p[0] for p in chunk), dtype=np.int64, count=len(chunk))
            order = np.argsort(rows, kind="stable")  # sorted reads are sequential on disk
            u8 = np.empty((len(chunk),) + self.images.shape[1:], dtype=np.uint8)
            u8[order] = self.images[rows[order]]
            yield self.normalise(u8), np.fromiter((p[1] for p in chunk), dtype=np.int64, count=len(chunk))

    def train_batches(self, epoch: int, batch_size: int, seed: int):
        pairs = list(zip(self.rows["train"], self.labels["train"]))
        shuffle_in_place(pairs, Mulberry32(data_seed("train", seed, epoch)))
        return self._batches(pairs, batch_size)

    def eval_batches(self, split: str, batch_size: int):
        return self._batches(list(zip(self.rows[split], self.labels[split])), batch_size)
