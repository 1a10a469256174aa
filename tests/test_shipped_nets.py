"""Every trained optimizer that ships with the library loads and reproduces the validation
score it was selected by, on the task and validation problems its file records: a chapter that
loads it judges the net that was trained."""

from __future__ import annotations

import math

import pytest
import torch

from optbook.learned.checkpoints import load_net, shipped_dir
from optbook.learned.evaluate import rollout_losses, trajectory_summary
from optbook.learned.meta import MetaTrainConfig
from optbook.tasks import MNISTMLPTask, QuadraticTask

SHIPPED = sorted(shipped_dir().glob("*.pt"))


def _task(config: dict):
    if config["task"] == "quadratic":
        return QuadraticTask(dim=config["dim"])
    if config["task"] == "mnist-mlp":
        return MNISTMLPTask(hidden=tuple(config["hidden"]), activation=config["activation"],
                            batch_size=config["batch_size"], dataset=config["dataset"], sampling=config["sampling"],
                            standardize=config["standardize"])
    raise AssertionError(f"a shipped net was trained on a task this test cannot rebuild: {config}")


def _meta_config(recorded: dict) -> MetaTrainConfig:
    from optbook.learned import meta

    callables = {"meta_optimizer": {"torch.optim.adam.Adam": torch.optim.Adam},
                 "loss_weights": {f"optbook.learned.meta.{f.__name__}": f
                                  for f in (meta.every_step, meta.before_update, meta.final_step)}}
    values = {k: (callables[k][v] if k in callables else v) for k, v in recorded.items()}
    values["validation_seeds"] = tuple(values["validation_seeds"])
    return MetaTrainConfig(**values)


def test_the_library_ships_nets():
    assert len(SHIPPED) >= 10


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_a_shipped_net_reproduces_its_recorded_validation_score(path):
    torch.set_num_threads(1)
    net, metadata = load_net(path, with_metadata=True)
    task, config = _task(metadata["task"]), _meta_config(metadata["meta_config"])
    model = task.build(config.validation_seeds)
    with torch.no_grad():
        losses, _ = rollout_losses(model, net, config.validation_steps or config.horizon, metrics=False)
    score = trajectory_summary(losses)[f"{config.select_by}_loss"]
    recorded = metadata["info"]["best_score"]
    assert math.isfinite(recorded)
    # float32 trajectories: a later change of summation order (a faster kernel) moves a 100-step
    # validation by ~1e-4 relative; a different net or protocol moves it by percents.
    assert score == pytest.approx(recorded, rel=2e-3), f"{path.name}: validation {score} vs recorded {recorded}"
