"""The preprocessing cache (docs/cache-format.md), read side. The cache is written by packages/data only: its
images are decoded and resized by sharp (libvips), which Python cannot reproduce byte for byte, and every trial
of a dataset version must see the same bytes whichever trainer runs it. When the (version, size) cache does not
exist yet, this trainer runs the TypeScript builder (HYPERSWEEP_CACHE_BUILDER, default packages/data/bin/
hypersweep-cache next to this package in the repository) and waits for it; the builder takes the cache's lock,
so trials started together build it once."""

import json
import os
import shlex
import subprocess
import time

from .errors import CancelledError, DataError
from .runtime import CANCEL

BUILDER_ENV = "HYPERSWEEP_CACHE_BUILDER"
REPO_BUILDER = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "packages", "data", "bin", "hypersweep-cache"))


def read_index(cache_dir: str):
    try:
        with open(os.path.join(cache_dir, "index.json"), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise DataError(f"unreadable cache index in {cache_dir}: {e}")


def builder_command() -> list:
    configured = os.environ.get(BUILDER_ENV, "").strip()
    if configured:
        return shlex.split(configured)
    if os.path.exists(REPO_BUILDER):
        return [REPO_BUILDER]
    raise DataError(f"the preprocessing cache is missing and no builder is configured: set {BUILDER_ENV} to the "
                    "command of packages/data/bin/hypersweep-cache, or let the worker build the cache first")


def run_builder(version_dir: str, image_size: int, cache_root: str) -> None:
    cmd = builder_command() + [version_dir, str(image_size), cache_root]
    try:
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as e:
        raise DataError(f"cannot run the cache builder {cmd[0]}: {e}")
    while child.poll() is None:
        if CANCEL.is_set():
            child.terminate()
            child.wait()
            raise CancelledError(0)
        time.sleep(0.05)
    err = child.stderr.read().decode("utf-8", "replace").strip()
    if child.returncode != 0:
        raise DataError(f"building the preprocessing cache failed: {err.splitlines()[-1] if err else f'exit {child.returncode}'}")


def ensure_cache(version_dir: str, image_size: int, cache_root: str, manifest: dict) -> dict:
    """The cache handle of (version, size): index.json's fields plus dir and dataPath. Builds it when missing."""
    cache_dir = os.path.join(cache_root, manifest["contentHash"], str(image_size))
    index = read_index(cache_dir)
    if index is None:
        run_builder(version_dir, image_size, cache_root)
        index = read_index(cache_dir)
        if index is None:
            raise DataError(f"the cache builder finished but {cache_dir}/index.json does not exist")
    if index.get("format") != 1:
        raise DataError(f"cache {cache_dir} has format {index.get('format')!r}, this trainer reads format 1")
    if index["contentHash"] != manifest["contentHash"] or index["count"] != len(manifest["rows"]):
        raise DataError(f"cache {cache_dir} does not match dataset version {manifest['contentHash']}")
    if index["bytesPerImage"] != image_size * image_size * 3:
        raise DataError(f"cache {cache_dir} has {index['bytesPerImage']} bytes per image, expected {image_size}×{image_size}×3")
    data_path = os.path.join(cache_dir, "images.u8")
    if os.path.getsize(data_path) < index["count"] * index["bytesPerImage"]:
        raise DataError(f"cache file {data_path} is shorter than {index['count']} images")
    return {**index, "dir": cache_dir, "dataPath": data_path}
