"""The five training augmentations with the definitions of packages/data/src/tf/augment.ts, on a normalised NCHW
batch (torch). Per image, in this order: one affine resampling for rotation (θ uniform in ±rotationDegrees,
counter-clockwise as displayed, about the centre), hflip (probability 0.5) and center_crop (always, keeping the
central fraction), bilinear with 0 outside the image; then brightness (a shift of u·brightness·(max − min of the
input image), u uniform in [−1, 1]); then contrast (factor uniform in [1 − contrast, 1 + contrast] about the
image mean). Draws come from the trial's Mulberry32 image by image in the order θ, flip, u, c, so the same
stream gives the same parameters as the TypeScript trainer."""

import math

import torch
import torch.nn.functional as F


def draw_augmentations(n: int, augmentations: list, params: dict, rng) -> list:
    on = set(augmentations)
    out = []
    for _ in range(n):
        a = {}
        if "rotation" in on:
            a["rotation"] = (2 * rng.next() - 1) * params["rotationDegrees"]
        if "hflip" in on:
            a["flip"] = rng.next() < 0.5
        if "center_crop" in on:
            a["crop"] = params["centerCropFraction"]
        if "brightness" in on:
            a["brightness"] = (2 * rng.next() - 1) * params["brightness"]
        if "contrast" in on:
            a["contrast"] = 1 + (2 * rng.next() - 1) * params["contrast"]
        out.append(a)
    return out


def geometric_matrix(a: dict) -> list:
    """Output → input pixel map about the centre: input − c = R(θ)⁻¹ · F · f · (output − c)."""
    theta = a.get("rotation", 0.0) * math.pi / 180
    f = a.get("crop", 1.0)
    s = -1.0 if a.get("flip") else 1.0
    cos, sin = math.cos(theta), math.sin(theta)
    return [[cos * s * f, -sin * f], [sin * s * f, cos * f]]


def _is_geometric(a: dict) -> bool:
    return a.get("rotation", 0.0) != 0 or a.get("flip", False) or a.get("crop", 1.0) != 1


def apply_augmentations(x: torch.Tensor, per: list) -> torch.Tensor:
    n = x.shape[0]
    y = x
    if any(_is_geometric(a) for a in per):
        # The map is centred, so in align_corners coordinates (−1 … 1 over pixel centres) it is linear: the same
        # 2 × 2 matrix, no translation.
        theta = torch.zeros(n, 2, 3, dtype=x.dtype)
        theta[:, :, :2] = torch.tensor([geometric_matrix(a) for a in per], dtype=x.dtype)
        grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=True)
        y = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    if any("brightness" in a for a in per):
        ranges = x.amax(dim=(1, 2, 3)) - x.amin(dim=(1, 2, 3))
        shifts = torch.tensor([a.get("brightness", 0.0) for a in per], dtype=x.dtype, device=x.device) * ranges
        y = y + shifts.view(n, 1, 1, 1)
    if any("contrast" in a for a in per):
        factors = torch.tensor([a.get("contrast", 1.0) for a in per], dtype=x.dtype, device=x.device).view(n, 1, 1, 1)
        mean = y.mean(dim=(1, 2, 3), keepdim=True)
        y = (y - mean) * factors + mean
    return y


def augment_batch(x: torch.Tensor, augmentations: list, params: dict, rng) -> torch.Tensor:
    if not augmentations:
        return x
    return apply_augmentations(x, draw_augmentations(x.shape[0], augmentations, params, rng))
