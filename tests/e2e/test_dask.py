"""Scale-out: the data stages on a real Dask cluster (distributed.LocalCluster, 2 worker
processes on 127.0.0.1) write byte-identical outputs to the process runner's."""

from __future__ import annotations

import pytest
from e2e_support import DATA_STAGES, data_files, e2e_config, kuznia, outputs

pytestmark = pytest.mark.slow


def test_dask_runner_matches_process_runner(reference, tmp_path):
    cfg = e2e_config(tmp_path / "config.yaml", **{"runner.kind": "dask", "runner.workers": 2})
    proc = kuznia(["run", "--config", str(cfg), "--work-dir", str(tmp_path / "work"),
                   "--stages", "fetch-tokens"], tmp_path)
    log = proc.stdout + proc.stderr
    assert "DaskTaskRunner" in log or "dask" in log.lower()
    for stage in DATA_STAGES:
        assert outputs(tmp_path / "work", stage) == outputs(reference, stage), stage
        assert data_files(tmp_path / "work", stage) == data_files(reference, stage), stage
