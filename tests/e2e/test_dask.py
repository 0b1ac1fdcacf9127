"""Scale-out: the data stages on a real Dask cluster (distributed.LocalCluster, 2 worker
processes on 127.0.0.1) write byte-identical outputs to the process runner's."""

from __future__ import annotations

import json

import pytest
from e2e_support import DATA_STAGES, data_files, e2e_config, kuznia, outputs

pytestmark = pytest.mark.slow


def test_dask_runner_matches_process_runner(reference, tmp_path):
    cfg = e2e_config(tmp_path / "config.yaml", **{"runner.kind": "dask", "runner.workers": 2})
    kuznia(["run", "--config", str(cfg), "--work-dir", str(tmp_path / "work"),
           "--stages", "fetch-tokens"], tmp_path)
    workers = {json.loads(m.read_text())["worker"].get("dask_worker")
               for m in (tmp_path / "work").glob("*/_tasks/*/*.json")}
    # every task of every data stage ran on a worker of the cluster (fetch's downloads run on
    # the flow's threads by design), and more than one worker took part
    fanned = [m for m in (tmp_path / "work").glob("*/_tasks/*/*.json") if m.parts[-4] != "raw"]
    on_dask = {json.loads(m.read_text())["worker"].get("dask_worker") for m in fanned}
    assert None not in on_dask and len(on_dask) == 2, on_dask
    assert all(a.startswith("tcp://127.0.0.1:") for a in on_dask)
    assert workers - on_dask == {None}  # fetch
    for stage in DATA_STAGES:
        assert outputs(tmp_path / "work", stage) == outputs(reference, stage), stage
        assert data_files(tmp_path / "work", stage) == data_files(reference, stage), stage
