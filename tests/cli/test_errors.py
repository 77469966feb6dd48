"""Expected user errors end a command with one line on stderr and status 2, no traceback
(issue 15); HYDRA_FULL_ERROR=1 keeps the full traceback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

from evpose.cli.compose import compose_config
from evpose.cli.errors import EXIT_USER_ERROR, one_line_errors
from evpose.cli.finetune import run as finetune
from evpose.cli.predict import run as predict
from evpose.io import write_manifest


class CopiesAFile:
    def __init__(self, src, dst):
        self.src, self.dst = str(src), str(dst)

    def __reduce__(self):
        return (shutil.copyfile, (self.src, self.dst))


def _hostile(tmp_path):
    """A checkpoint whose pickle copies a file, and the marker it would write."""
    marker = tmp_path / "marker.txt"
    path = tmp_path / "hostile.ckpt"
    torch.save({"state_dict": {}, "evpose": {"kind": "finetune"}, "x": CopiesAFile(path.parent / "src.txt", marker)}, path)
    (tmp_path / "src.txt").write_text("x")
    return path, marker


def _command(module, *overrides, tmp_path, env=None):
    env = {**{k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}, **(env or {})}
    return subprocess.run([sys.executable, "-m", f"evpose.cli.{module}", *overrides, f"hydra.run.dir={tmp_path / 'run'}"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)


def _one_line(res, command, pattern):
    lines = [line for line in res.stderr.splitlines() if line.strip() and not line.startswith("Seed set to")]
    assert res.returncode == EXIT_USER_ERROR, res.stderr
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert re.match(rf"{command}: error: .*{pattern}", lines[0]), lines[0]


def test_commands_print_one_line(tmp_path):
    """The real commands, through Hydra: one line, status 2; the full traceback on request."""
    hostile, marker = _hostile(tmp_path)
    _one_line(_command("pretrain", "pretext=[nope]", f"paths.output_dir={tmp_path}", tmp_path=tmp_path),
              "evpose-pretrain", r"unknown pretext task\(s\) 'nope'; valid: count, future, inpaint, onset, refill")
    _one_line(_command("eval", f"ckpt_path={hostile}", tmp_path=tmp_path),
              "evpose-eval", r"hostile\.ckpt: refused: .*its pickle calls shutil\.copyfile")
    assert not marker.exists()
    full = _command("eval", f"ckpt_path={tmp_path / 'none.ckpt'}", tmp_path=tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert full.returncode != 0 and "Traceback" in full.stderr and "none.ckpt: no such checkpoint" in full.stderr


def _in_process(fn, cfg, capsys, command, pattern):
    with pytest.raises(SystemExit) as e:
        one_line_errors(command)(fn)(cfg)
    assert e.value.code == EXIT_USER_ERROR
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and re.match(rf"{command}: error: .*{pattern}", err[0]), err


def test_finetune_and_predict_user_errors(tiny_dataset, tmp_path, capsys, monkeypatch):
    """The same wrapper around the commands' run(), in this process (cheaper than a process each)."""
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    out = [f"paths.output_dir={tmp_path / 'run'}", "trainer.max_epochs=1", "data.num_workers=0"]
    ft = lambda *o: compose_config("finetune", [f"data.root={tiny_dataset}", "pretrained=none", *out, *o])  # noqa: E731
    _in_process(finetune, ft(f"ckpt_path={tmp_path / 'missing.ckpt'}"), capsys, "evpose-finetune",
                r"ckpt_path=.*missing\.ckpt: no such checkpoint to resume from")
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, foreign)
    _in_process(finetune, ft(f"ckpt_path={foreign}"), capsys, "evpose-finetune", r"foreign\.ckpt: not an evpose checkpoint")
    hostile, marker = _hostile(tmp_path)
    _in_process(finetune, ft(f"pretrained={hostile}"), capsys, "evpose-finetune", r"hostile\.ckpt: refused")
    assert not marker.exists()
    # a folder without a dataset: an error that says how to make one, and nothing generated there
    empty = tmp_path / "empty"
    empty.mkdir()
    _in_process(finetune, compose_config("finetune", [f"data.root={empty}", "pretrained=none", *out]), capsys,
                "evpose-finetune", r"empty: no evpose dataset here \(the folder is empty\); generate .*`evpose-synth`")
    assert list(empty.iterdir()) == []
    # a manifest that leaves its folder
    bad = tmp_path / "bad"
    write_manifest(bad, {"source": "test", "recordings": [{"path": "../elsewhere.h5", "split": "train"}]})
    _in_process(finetune, compose_config("finetune", [f"data.root={bad}", "pretrained=none", *out]), capsys,
                "evpose-finetune", r"recordings\[0\]\.path is '\.\./elsewhere\.h5'.*outside the dataset folder")
    # evpose-predict on a file that is not a recording
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    _in_process(predict, compose_config("predict", [f"ckpt_path={foreign}", f"input={junk}", *out[:1]]), capsys,
                "evpose-predict", r"junk\.h5: /: not a readable HDF5 file")


def test_errors_from_data_loader_workers_stay_one_line():
    """A worker re-raises an error in the main process with its traceback in the message."""
    from torch._utils import ExceptionWrapper

    from evpose.cli.errors import user_error_message
    from evpose.io import EventFormatError

    try:
        raise EventFormatError("rec.h5", "cameras/cam2/events/x", "value 346 at index 12 is outside the sensor")
    except EventFormatError:
        wrapped = ExceptionWrapper(where="in DataLoader worker process 0")
    with pytest.raises(EventFormatError) as e:
        wrapped.reraise()
    assert "Original Traceback" in str(e.value)
    assert user_error_message(e.value) == "rec.h5: cameras/cam2/events/x: value 346 at index 12 is outside the sensor"
