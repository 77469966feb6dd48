"""The shipped Hydra configs compose as documented."""

from __future__ import annotations

from evpose.cli.compose import compose_config


def test_an_experiment_overrides_the_command_config():
    """``experiment=...`` comes last: its values win over the command file's own (the long
    fine-tuning preset gets its epochs and validation interval, not the default run's)."""
    base = compose_config("finetune", ["paths.output_dir=/tmp/x"])
    long = compose_config("finetune", ["experiment=pose_long", "paths.output_dir=/tmp/x"])
    assert (base.trainer.max_epochs, base.trainer.val_check_interval) == (5, 1.0)
    assert (long.trainer.max_epochs, long.trainer.val_check_interval) == (28, 1.0)
    # everything else is the default run's
    assert long.data.cache is True and long.model == base.model and long.optimizer == base.optimizer
