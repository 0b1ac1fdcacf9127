"""Kuźnia's bottom layer: the stage contract every package stands on.

`registry` (the stages and their folders), `stage` (specs, contexts, tasks), `driver`
(`run_stage`), `manifest` (fingerprints, status), `mappers` (serial, threads, processes),
`files` (atomic writes, checksums), `parts` (document parts in Parquet), `config` (the config
section base), `counts` (mergeable counters), `progress` (bars, memory). It imports none of
Kuźnia's other packages and never Prefect.
"""
