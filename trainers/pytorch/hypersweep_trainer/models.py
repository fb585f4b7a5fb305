"""The architectures: torchvision's ResNet-18/50, Wide ResNet-50-2, DenseNet-121/169 with the scenario's classes as
their head, and small_cnn with the layers (and torchvision-style names) of packages/models/src/small-cnn.ts:
four blocks conv3×3 (no bias) → BatchNorm (eps 1e-5, momentum 0.1) → ReLU of widths 16, 32, 64, 128, blocks
2–4 with stride 2, global average pooling and a Linear head `fc`. Models output logits."""

from collections import OrderedDict

import torch
from torch import nn

from .errors import BadSpecError

SMALL_CNN_WIDTHS = (16, 32, 64, 128)
MIN_IMAGE_SIZE = {"small_cnn": 8, "resnet18": 8, "resnet50": 8, "wide_resnet50_2": 8, "densenet121": 32, "densenet169": 32}
HEADS = {"small_cnn": "fc", "resnet18": "fc", "resnet50": "fc", "wide_resnet50_2": "fc",
         "densenet121": "classifier", "densenet169": "classifier"}


class SmallCnn(nn.Module):
    def __init__(self, num_classes: int):
        super().__init__()
        blocks, cin = [], 3
        for i, width in enumerate(SMALL_CNN_WIDTHS):
            blocks.append(nn.Sequential(OrderedDict([
                ("conv", nn.Conv2d(cin, width, 3, stride=1 if i == 0 else 2, padding=1, bias=False)),
                ("bn", nn.BatchNorm2d(width)),
                ("relu", nn.ReLU(inplace=True)),
            ])))
            cin = width
        self.features = nn.Sequential(*blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


def build_model(architecture: str, num_classes: int, image_size: int) -> nn.Module:
    if image_size < MIN_IMAGE_SIZE[architecture]:
        raise BadSpecError(f"architecture {architecture}: imageSize must be an integer ≥ {MIN_IMAGE_SIZE[architecture]} "
                           f"for {architecture}, got {image_size}")
    if architecture == "small_cnn":
        return SmallCnn(num_classes)
    import torchvision.models as tvm
    return getattr(tvm, architecture)(weights=None, num_classes=num_classes)


def head_names(architecture: str) -> tuple:
    h = HEADS[architecture]
    return (f"{h}.weight", f"{h}.bias")
