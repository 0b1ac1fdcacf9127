"""`kuznia run --stages train` on two processes (torchrun, gloo on CPU): the launcher's output in the
flow run's log, two slots of the GPU concurrency limit, and a checkpoint export reads."""

from __future__ import annotations

import sqlite3

from e2e_support import e2e_config, kuznia, manifest

from train.checkpoint import read_meta


def test_the_train_stage_on_two_processes_through_the_flow(reference, copy_of, tmp_path):
    wd = copy_of(reference)
    cfg = e2e_config(tmp_path / "config.yaml", **{"train.devices": 2, "train.micro_batch_size": 4,
                                                   "train.grad_accum_steps": 2, "train.resume": "no"})
    out = kuznia(["run", "--stages", "train,export", "--config", str(cfg), "--work-dir", str(wd)], tmp_path,
                 timeout=300)
    log = out.stdout + out.stderr
    assert "torch.distributed.run --nproc-per-node=2" in log  # the launch, in the flow's log
    assert "2 processes, ddp, 1 micro batches each" in log  # rank 0's own lines come through torchrun
    assert "train: taking 2 of the 2 slot(s) of kuznia-gpu-" in log
    train = manifest(wd, "train")
    assert train["final_step"] == 12
    assert read_meta(wd / "checkpoints" / train["checkpoint"])["processes"] == 2
    assert (wd / "export" / "hf" / "model.safetensors").exists()
    db = sqlite3.connect(tmp_path / "prefect-home" / "prefect.db")
    with db:
        limits = db.execute("select \"limit\", active_slots from concurrency_limit_v2 "
                            "where name like 'kuznia-gpu-%'").fetchall()
    db.close()
    assert limits == [(2, 0)]
