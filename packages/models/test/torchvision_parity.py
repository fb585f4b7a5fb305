"""Writes a torchvision model's state_dict (random init, randomised BatchNorm statistics) as safetensors,
plus an input batch and the model's eval-mode logits, for the tf.layers parity test.

usage: torchvision_parity.py OUT_DIR NUM_CLASSES ARCH:IMAGE_SIZE... (writes OUT_DIR/ARCH/{weights,io}.safetensors)
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torchvision


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dtype = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[arr.dtype]
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        blobs.append(arr.tobytes())
        offset += arr.nbytes
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    root, num_classes = sys.argv[1], int(sys.argv[2])
    for spec in sys.argv[3:]:
        arch, size = spec.split(":")
        out = os.path.join(root, arch)
        os.makedirs(out, exist_ok=True)
        export(arch, num_classes, int(size), out)


def randomise_batchnorm(model):
    """BatchNorm parameters and statistics away from their defaults (1, 0, 0, 1), so that layouts show."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


def export(arch, num_classes, size, out):
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(num_classes=num_classes)
    randomise_batchnorm(model)
    model.eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        y = model(x)
    write_safetensors(f"{out}/weights.safetensors", {k: v.numpy() for k, v in model.state_dict().items()})
    write_safetensors(f"{out}/io.safetensors", {"x_nhwc": x.permute(0, 2, 3, 1).numpy(), "logits": y.numpy()})


if __name__ == "__main__":
    main()
