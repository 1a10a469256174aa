"""VGG-16 with batch normalisation on CIFAR-10, the hypergradient paper's largest optimizee.

The network follows the paper's code (based on Zagoruyko's Torch VGG): configuration D of
3x3 convolutions with batch norm and ReLU, five max-pools, then Dropout(0.5), 512-512 ReLU,
Dropout, 512-512 ReLU, 512-10; conv weights N(0, 2/(9 C_out)), zero biases, default nn.Linear
init. Training augments with random crops (padding 4) and horizontal flips; pixels are normalised
with the ImageNet mean and std, as that code does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from optbook.tasks.base import Optimizee
from optbook.tasks.ensemble import EpochSampler, run_generator, run_generators

CONFIG_D = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
CIFAR_MEAN = (0.485, 0.456, 0.406)
CIFAR_STD = (0.229, 0.224, 0.225)


def vgg16_bn(n_classes: int = 10, generator: torch.Generator | None = None) -> nn.Sequential:
    """VGG-16 (configuration D) with batch norm, for 32x32 inputs."""
    layers: list[nn.Module] = []
    channels = 3
    for width in CONFIG_D:
        if width == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        conv = nn.Conv2d(channels, width, 3, padding=1)
        with torch.no_grad():
            conv.weight.normal_(0.0, math.sqrt(2.0 / (9 * width)), generator=generator)
            conv.bias.zero_()
        layers += [conv, nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        channels = width
    layers += [nn.Flatten(), nn.Dropout(0.5), nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Dropout(0.5),
               nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Linear(512, n_classes)]
    net = nn.Sequential(*layers)
    if generator is not None:  # nn.Linear's default init, drawn from the run's own generator
        for layer in net:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                with torch.no_grad():
                    layer.weight.uniform_(-bound, bound, generator=generator)
                    layer.bias.uniform_(-bound, bound, generator=generator)
    return net


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random 32x32 crops of the 4-pixel zero-padded images and random horizontal flips."""
    n, _, height, width = images.shape
    padded = F.pad(images, (4, 4, 4, 4))
    dy = torch.randint(0, 9, (n,), generator=generator)
    dx = torch.randint(0, 9, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(height)[None, :]).to(images.device)
    cols = (dx[:, None] + torch.arange(width)[None, :]).to(images.device)
    crops = padded[torch.arange(n, device=images.device)[:, None, None, None],
                   torch.arange(images.shape[1], device=images.device)[None, :, None, None],
                   rows[:, None, :, None], cols[:, None, None, :]]
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    return torch.where(flip[:, None, None, None], crops.flip(-1), crops)


class VGGClassifier(Optimizee):
    """One VGG-16-BN run (a network of this size is never batched into an ensemble here).

    ``forward(batch)`` returns the loss as a 1-element tensor, so it plugs into the same runner
    as the ensembles; train mode (dropout, batch statistics) during training, eval mode for
    ``evaluate``.
    """

    def __init__(self, seeds: Sequence[int], x: torch.Tensor, y: torch.Tensor, eval_x=None, eval_y=None,
                 batch_size: int = 128):
        super().__init__(seeds)
        if self.runs != 1:
            raise ValueError(f"VGGClassifier trains one run at a time; got {self.runs} seeds")
        mean = torch.tensor(CIFAR_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(CIFAR_STD, device=x.device).view(1, 3, 1, 1)
        self.x, self.y = x, y
        self.eval_x = None if eval_x is None else (eval_x - mean) / std
        self.eval_y = eval_y
        self._mean, self._std = mean, std
        self.net = vgg16_bn(generator=run_generator(self.seeds[0], "init")).to(x.device)
        self._sampler = EpochSampler(len(x), batch_size, run_generators(self.seeds, "batches"), device=x.device)
        self._augment_generator = run_generator(self.seeds[0], "data")

    @property
    def steps_per_epoch(self) -> int:
        return self._sampler.steps_per_epoch

    def sample_batch(self) -> torch.Tensor:
        return self._sampler()

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        self.net.train()
        index = batch[0]
        images = (augment(self.x[index], self._augment_generator) - self._mean) / self._std
        return F.cross_entropy(self.net(images), self.y[index]).unsqueeze(0)

    @torch.no_grad()
    def evaluate(self, chunk: int = 1000) -> dict[str, torch.Tensor]:
        if self.eval_x is None:
            return {}
        self.net.eval()
        loss, correct = 0.0, 0
        for start in range(0, len(self.eval_x), chunk):
            logits = self.net(self.eval_x[start : start + chunk])
            targets = self.eval_y[start : start + chunk]
            loss += F.cross_entropy(logits, targets, reduction="sum").item()
            correct += (logits.argmax(1) == targets).sum().item()
        n = len(self.eval_x)
        return {"test_loss": torch.tensor([loss / n]), "test_accuracy": torch.tensor([correct / n])}


@dataclass(frozen=True)
class CIFARVGGTask:
    """VGG-16-BN on CIFAR-10 with the hypergradient paper's protocol (batch 128, augmentation)."""

    batch_size: int = 128

    @property
    def name(self) -> str:
        return "cifar10-vgg16bn"

    @property
    def title(self) -> str:
        return "VGG-16 (batch norm) on CIFAR-10"

    def data(self):
        from optbook.data import load_cifar10

        return load_cifar10()

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.data().train_y) // self.batch_size)

    def config(self) -> dict:
        return {"task": self.name, "batch_size": self.batch_size}

    def build(self, seeds: Sequence[int], device="cpu") -> VGGClassifier:
        data = self.data()
        device = torch.device(device)
        return VGGClassifier(seeds, data.train_x.to(device), data.train_y.to(device), data.test_x.to(device),
                             data.test_y.to(device), batch_size=self.batch_size)
