"""The dedup stage end to end on a tiny clean/ folder: clusters, counts, reruns, determinism."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pyarrow.parquet as pq
import pytest
from dedup_fixtures import dedup_config, make_clean

from corpus.dedup.stage import SPEC
from kuznia.driver import run_stage
from kuznia.manifest import collect_outputs
from kuznia.stage import run_task

BASE = ("Na wstępie trzeba zaznaczyć, że trening modelu wymaga minimum kilka razy więcej zasobów "
        "niż późniejsze jego używanie. W uproszczeniu można przyjąć, że jest to minimum około "
        "trzy razy więcej. Dlatego jeśli model da się uruchomić na karcie graficznej, która ma "
        "sześć GB pamięci, to do wytrenowania tego modelu będziemy potrzebować co najmniej "
        "karty z osiemnastoma GB pamięci.")
OTHER = ("Trenowanie dużych modeli językowych wymaga ogromnej mocy obliczeniowej i jest "
         "zarezerwowane dla dużych graczy na rynku. Ale czy to znaczy, że pojedyncza osoba czy "
         "mała firma nie może trenować modeli językowych, które będą w stanie wykonywać "
         "określone zadania? Postanowiliśmy odpowiedzieć na to pytanie.")


def corpus(tmp_path):
    near = BASE.replace("minimum około", "co najmniej około")  # one edit: Jaccard ~0.9
    make_clean(tmp_path, {
        "speakleash.a": [[("speakleash.a/000000001", BASE), ("speakleash.a/000000002", OTHER)],
                         [("speakleash.a/000000003", near)]],
        "speakleash.b": [[("speakleash.b/000000001", OTHER + " ")]],  # exact after normalising
        "wikipedia": [[("wikipedia/0000000007", BASE.upper()), ("wikipedia/0000000009", ""),
                       ("wikipedia/0000000010", "Zupełnie inny, krótki tekst o kotach.")]],
    })


def test_clusters_and_counts(tmp_path):
    corpus(tmp_path)
    res = run_stage(SPEC, dedup_config(), tmp_path, log=lambda m: None)
    rows = pq.read_table(tmp_path / "dedup" / "clusters.parquet").to_pylist()
    assert [(r["id"], r["cluster_id"], r["cluster_size"], r["source"], r["exact_dup"]) for r in rows] == [
        ("speakleash.a/000000001", "speakleash.a/000000001", 3, "speakleash.a", True),
        ("speakleash.a/000000003", "speakleash.a/000000001", 3, "speakleash.a", False),
        ("wikipedia/0000000007", "speakleash.a/000000001", 3, "wikipedia", True),
        ("speakleash.a/000000002", "speakleash.a/000000002", 2, "speakleash.a", True),
        ("speakleash.b/000000001", "speakleash.a/000000002", 2, "speakleash.b", True),
    ]
    assert rows[0]["chars"] == len(BASE)
    c = res.manifest["counts"]
    assert (c["docs"], c["empty_docs"], c["clusters"], c["docs_in_clusters"]) == (7, 1, 2, 5)
    assert (c["exact_dup_docs"], c["near_dup_docs"]) == (2, 1)
    assert c["candidate_pairs"] >= c["verified_pairs"] >= 3 and c["rejected_pairs"] == 0
    assert res.manifest["lsh"]["bands"] == 14 and res.manifest["lsh"]["rows"] == 8
    assert res.manifest["overlap"] == {
        "speakleash.a": {"speakleash.a": 1, "speakleash.b": 1, "wikipedia": 1}}
    assert res.manifest["per_source"]["wikipedia"] == {
        "docs": 3, "empty_docs": 1, "docs_in_clusters": 1, "clusters": 1}


def test_rerun_is_skipped_and_outputs_are_byte_identical_across_runners(tmp_path):
    corpus(tmp_path)
    first = run_stage(SPEC, dedup_config(), tmp_path, log=lambda m: None)
    before = collect_outputs(tmp_path / "dedup")
    again = run_stage(SPEC, dedup_config(), tmp_path, log=lambda m: None)
    assert again.skipped
    with ProcessPoolExecutor(2) as pool:
        def mapper(calls):
            return list(pool.map(run_task, calls))
        forced = run_stage(SPEC, dedup_config(), tmp_path, force=True, mapper=mapper,
                           log=lambda m: None)
    assert not forced.skipped
    assert collect_outputs(tmp_path / "dedup") == before
    assert forced.manifest["counts"] == first.manifest["counts"]


@pytest.mark.parametrize("verify", ["exact", "estimate", "none"])
def test_every_verify_mode_agrees_on_clear_cases(tmp_path, verify):
    corpus(tmp_path)
    res = run_stage(SPEC, dedup_config(verify=verify, bands_per_task=3), tmp_path,
                    log=lambda m: None)
    assert res.manifest["counts"]["docs_in_clusters"] == 5
    assert ("verified_pairs" in res.manifest["counts"]) == (verify != "none")
    assert ("shingled_docs" in res.manifest["counts"]) == (verify == "exact")
    assert (tmp_path / "dedup" / "shingles").exists() == (verify == "exact")


def test_config_rejects_bands_beyond_num_perm():
    with pytest.raises(Exception, match="exceeds `dedup.num_perm`"):
        dedup_config(num_perm=64, bands=14, rows=8)
    assert dedup_config(num_perm=112, bands=None, rows=None)["dedup"].lsh_params() == (9, 12)
