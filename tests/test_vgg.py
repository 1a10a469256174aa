"""VGG-16-BN on CIFAR-shaped data: CIFAR-10 is not on the build machines, the code still runs."""

from __future__ import annotations

import torch

from optbook.tasks.ensemble import run_generator
from optbook.tasks.vgg import CONFIG_D, VGGClassifier, augment, vgg16_bn


def test_vgg16_bn_has_configuration_d_and_the_papers_classifier():
    widths = [w for w in CONFIG_D if w != "M"]
    convs = sum(9 * c_in * c_out + c_out + 2 * c_out for c_in, c_out in zip([3] + widths[:-1], widths))
    classifier = (512 * 512 + 512) * 2 + 512 * 10 + 10
    net = vgg16_bn()
    assert sum(p.numel() for p in net.parameters()) == convs + classifier
    assert len(widths) == 13 and sum(w == "M" for w in CONFIG_D) == 5
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_conv_init_is_normal_with_std_sqrt_2_over_9_cout():
    net = vgg16_bn(generator=run_generator(0, "init"))
    conv = [m for m in net if isinstance(m, torch.nn.Conv2d)][-1]  # 512 -> 512: 2.4 M weights
    assert abs(conv.weight.std().item() / (2 / (9 * 512)) ** 0.5 - 1) < 0.01
    assert torch.count_nonzero(conv.bias) == 0


def test_augment_crops_a_shifted_window_and_flips():
    image = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).view(2, 3, 32, 32)
    generator = torch.Generator().manual_seed(3)
    out = augment(image, generator)
    replay = torch.Generator().manual_seed(3)
    dy, dx = torch.randint(0, 9, (2,), generator=replay), torch.randint(0, 9, (2,), generator=replay)
    flip = torch.rand(2, generator=replay) < 0.5
    padded = torch.nn.functional.pad(image, (4, 4, 4, 4))
    for i in range(2):
        expected = padded[i, :, dy[i] : dy[i] + 32, dx[i] : dx[i] + 32]
        assert torch.equal(out[i], expected.flip(-1) if flip[i] else expected)


def test_vgg_classifier_trains_and_evaluates_on_cifar_shaped_data():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(48, 3, 32, 32, generator=g), torch.randint(0, 10, (48,), generator=g)
    model = VGGClassifier([5], x, y, eval_x=x[:20], eval_y=y[:20], batch_size=16)
    assert model.steps_per_epoch == 3
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()
        loss = model(model.sample_batch())
        assert loss.shape == (1,) and torch.isfinite(loss).all()
        loss.sum().backward()
        optimizer.step()
    metrics = model.evaluate()
    assert set(metrics) == {"test_loss", "test_accuracy"} and 0 <= metrics["test_accuracy"].item() <= 1
    try:
        VGGClassifier([1, 2], x, y)
    except ValueError as err:
        assert "one run" in str(err)
    else:
        raise AssertionError("two seeds must be refused")
