"""PyTorch CPU side of bench/trainer-speed.ts: the same models, batch and image size, timed the same way.

Runs as a server so that the tfjs and torch measurements can be interleaved in one run: reads one JSON
command per line on stdin, {"model": "resnet18"|"small_cnn", "mode": "train"|"infer", "iters": n,
"batch": 32, "size": 64, "classes": 3}, and answers one JSON line {"times": [wall seconds per iteration...], "cpu": [CPU seconds, all threads...]}.
A line {"cmd": "info"} answers the torch version and thread count. Run with Debian's /usr/bin/python3.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torchvision

torch.set_num_threads(2)
torch.manual_seed(0)


def small_cnn(num_classes):
    """The same net as @hypersweep/models small_cnn: 4 × (conv3×3 → BN → ReLU), widths 16/32/64/128."""
    layers, cin = [], 3
    for i, c in enumerate([16, 32, 64, 128]):
        layers += [nn.Conv2d(cin, c, 3, stride=1 if i == 0 else 2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        cin = c
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes))


def build(name, classes):
    return small_cnn(classes) if name == "small_cnn" else getattr(torchvision.models, name)(num_classes=classes)


_models = {}


def run(cmd):
    key = (cmd["model"], cmd["classes"])
    if key not in _models:
        m = build(cmd["model"], cmd["classes"])
        _models[key] = (m, torch.optim.Adam(m.parameters(), lr=1e-3))
    model, opt = _models[key]
    x = torch.randn(cmd["batch"], 3, cmd["size"], cmd["size"])
    y = torch.randint(0, cmd["classes"], (cmd["batch"],))
    loss_fn = nn.CrossEntropyLoss()
    times, cpu = [], []
    for _ in range(cmd["iters"]):
        t0, c0 = time.perf_counter(), time.process_time()
        if cmd["mode"] == "train":
            model.train()
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            loss.item()
        else:
            model.eval()
            with torch.no_grad():
                model(x).sum().item()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"times": times, "cpu": cpu}


def main():
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("cmd") == "info":
            out = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads()}
        else:
            out = run(cmd)
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
