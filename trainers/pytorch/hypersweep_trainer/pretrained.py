"""Starting weights from a torchvision-named .safetensors file (ImageNet, the chest X-ray DenseNet-121, or a
trial's published weights). Every tensor of the model except its classifier must be in the file with the
model's shape; the classifier is started afresh when pretrainedHead is "replace" or when its shape does not fit
the scenario's classes ("import_if_fits", the default), else imported. Tensors the model does not use are
ignored (and counted in the log); BatchNorm's num_batches_tracked is taken when present."""

import torch

from .errors import DataError
from .models import head_names
from .safetensors_io import SafetensorsError, load_safetensors


def import_pretrained(model, architecture: str, path: str, head_mode, log) -> None:
    try:
        tensors = load_safetensors(path)
    except (OSError, SafetensorsError) as e:
        raise DataError(f"pretrained weights {path}: {e}")
    own = model.state_dict()
    heads = head_names(architecture)
    fits = all(h in tensors and tuple(tensors[h].shape) == tuple(own[h].shape) for h in heads)
    replace = head_mode == "replace" or not fits
    state, used = {}, set()
    for name, current in own.items():
        if replace and name in heads:
            continue
        t = tensors.get(name)
        if t is None:
            if name.endswith(".num_batches_tracked"):
                continue
            raise DataError(f"pretrained weights {path}: tensor {name} (shape {list(current.shape)}) is missing from the weights file")
        if tuple(t.shape) != tuple(current.shape):
            raise DataError(f"pretrained weights {path}: tensor {name}: the file has shape {list(t.shape)}, the model expects {list(current.shape)}")
        state[name] = t.to(current.dtype)
        used.add(name)
    with torch.no_grad():
        for name, value in state.items():
            own[name].copy_(value)
    unused = [n for n in tensors if n not in used and n not in heads and not n.endswith(".num_batches_tracked")]
    log(f"pretrained {path}: {len(used)} tensors imported, head {'replaced' if replace else 'imported'}, {len(unused)} unused")
