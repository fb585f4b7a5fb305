"""Bare torchvision, the baseline of bench/trainer-trial.ts: the same trial as the trainers run (model, data,
batch, epochs, Adam, a validation pass per epoch), written as the plain loop a PyTorch user would write: the
cached uint8 images loaded into one tensor, normalised, shuffled with torch's generator, no checkpoints, no
messages. Prints one JSON line: wall seconds from interpreter start and each epoch's seconds.

  /usr/bin/python3 bench/torch_trial.py <images.u8> <size> <train rows json> <valid rows json> <arch> <batch> <epochs> <threads>
"""
import json
import sys
import time

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402

sys.path.insert(0, __file__.rsplit("/bench/", 1)[0] + "/trainers/pytorch")
from hypersweep_trainer.models import SmallCnn  # noqa: E402  (the same layers; torchvision has no small_cnn)


def main():
    path, size, train, valid, arch, batch, epochs, threads = sys.argv[1:9]
    size, batch, epochs = int(size), int(batch), int(epochs)
    torch.set_num_threads(int(threads))
    train, valid = json.loads(train), json.loads(valid)
    images = np.memmap(path, dtype=np.uint8, mode="r").reshape(-1, size, size, 3)

    def tensor(rows):
        x = torch.from_numpy(np.ascontiguousarray(images[[r for r, _ in rows]])).permute(0, 3, 1, 2).float()
        return x, torch.tensor([y for _, y in rows])

    xt, yt = tensor(train)
    xv, yv = tensor(valid)
    mean, std = xt.mean(dim=(0, 2, 3), keepdim=True), xt.std(dim=(0, 2, 3), keepdim=True)
    xt, xv = ((xt - mean) / std).contiguous(), ((xv - mean) / std).contiguous()
    torch.manual_seed(0)
    model = SmallCnn(2) if arch == "small_cnn" else getattr(torchvision.models, arch)(num_classes=2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch_s = []
    for _ in range(epochs):
        t = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(yt)).split(batch):
            opt.zero_grad()
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            loss.item()
        model.eval()
        with torch.no_grad():
            for i in range(0, len(yv), batch):
                F.softmax(model(xv[i:i + batch]), dim=1).numpy()
        epoch_s.append(time.perf_counter() - t)
    print(json.dumps({"wall": time.perf_counter() - T0, "epochs": epoch_s}))


main()
