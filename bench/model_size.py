"""Benchmark: the real APT3-1B model on this CPU machine — checkpoint, exact resume, export.

    .venv/bin/python bench/model_size.py                   # apt3-1b: ~7 min, 17.6 GiB peak RSS, 25 GB disk
    .venv/bin/python bench/model_size.py --preset demo     # the same path in ~35 s (a self-check)

Proves the real recipe's checkpoint and export paths at their real size before any GPU time is
spent: the `apt3-1b` preset (1,041,754,112 parameters, asserted) trained by the train stage's own
`Trainer` (AdamW, clipping, LR schedule, bf16 autocast by default) for two optimizer steps of one
short window (`--context`, 64), in phases that each run in a process of their own, so that only one
model and optimizer live at a time and a resume is a real restart:

1. data: a BPE of the preset's vocabulary (the tokenizer stage's training, on the bundled
   Speakleash demo text) and token shards; no network, no `make demo` needed;
2. interrupted run: step 1, then the checkpoint (timed: save with fsync and xxh3 checksums;
   bytes); the process ends;
3. resumed run: a new process (`train.resume=must`) verifies the checksums, restores the state
   (timed: load) and runs step 2, evaluates and saves;
4. straight run: steps 1-2 in one process; its losses, evaluation and a hash of every model and
   AdamW tensor must equal the resumed run's: IDENTICAL, or the largest difference per tensor;
5. export: `export_checkpoint(..., dtype="bfloat16")` to `OUT/export/hf`, loaded by
   `AutoModelForCausalLM.from_pretrained(..., local_files_only=True)`; its logits on a fixed
   batch against our `Llama` on the same weights (fp32, tolerance 1e-3) and against the fp32
   checkpoint (what bf16 rounding costs; reported).

Prints peak RSS per phase, checkpoint bytes, save / load / step / export / HF load seconds, and
the baselines: the tensors' own bytes (parameters x 12: fp32 weights and AdamW's two moments)
for the checkpoint, parameters x 16 (with the gradients) for the memory. Exit 1 when the resume
is not bit-identical or the logits differ beyond the tolerance.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psutil
from model_size_support import (
    LOGIT_TOL,
    build_data,
    export_and_compare,
    folders,
    peak_rss,
    run_training,
    state_diff,
)

from kuznia.files import read_json, write_json_atomic
from model.config import PRESETS, preset_args
from model.flops import count_parameters
from train.checkpoint import step_dir_name

APT3_PARAMETERS = 1_041_754_112  # the model card's count
PHASES = ("data", "interrupted-1", "interrupted-2", "straight", "export")
GIB = 2**30


def child(a: argparse.Namespace) -> int:
    """One phase, in this process; its record goes to `results/<phase>.json`."""
    out, f = Path(a.out), folders(Path(a.out))
    train = {"preset": a.preset, "context": a.context, "dtype": a.dtype}
    if a.phase == "data":
        rec = build_data(out, preset_args(a.preset).vocab_size)
    elif a.phase == "interrupted-1":
        rec = run_training(out, f["checkpoints"], **train, resume="no", stop_at_step=1)
    elif a.phase == "interrupted-2":
        rec = run_training(out, f["checkpoints"], **train, resume="must", stop_at_step=None)
    elif a.phase == "straight":
        rec = run_training(out, f["straight"], **train, resume="no", stop_at_step=None)
    elif a.phase == "diff":
        rec = {"diff": state_diff(f["straight"] / step_dir_name(2), f["checkpoints"] / step_dir_name(2))}
    else:
        rec = export_and_compare(out, context=a.context)
    rec["rss_peak"] = peak_rss()
    write_json_atomic(f["results"] / f"{a.phase}.json", rec)
    return 0


def run_phase(phase: str, a: argparse.Namespace) -> dict:
    """Run a phase in a fresh process (its output streams through) and read its record."""
    print(f"\n== {phase} ==", flush=True)
    cmd = [sys.executable, __file__, "--phase", phase, "--out", str(a.out), "--preset", a.preset,
           "--context", str(a.context), "--dtype", a.dtype]
    env = {**os.environ, "KUZNIA_PROGRESS": "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, check=False, env=env, cwd=ROOT).returncode
    if rc:
        raise SystemExit(f"phase {phase} failed (exit {rc}); its output is above. Files are kept in {a.out}")
    rec = read_json(folders(Path(a.out))["results"] / f"{phase}.json")
    rec["wall_s"] = time.perf_counter() - t0
    return rec


def preflight(out: Path, n_params: int, dtype: str) -> None:
    """Refuse to start without the memory and disk the run needs (a shared machine's OOM killer
    would take someone else's process)."""
    need_ram = n_params * (16 + (2 if dtype == "bfloat16" else 0)) + GIB  # + bf16 weight casts, + runtime
    need_disk = n_params * 12 * 2 + n_params * 2 + GIB  # two checkpoints at once, the bf16 export
    have_ram = psutil.virtual_memory().available
    out.mkdir(parents=True, exist_ok=True)
    have_disk = shutil.disk_usage(out).free
    problems = []
    if have_ram < need_ram:
        problems.append(f"{need_ram / GIB:.1f} GiB of memory needed, {have_ram / GIB:.1f} GiB available "
                        "(wait for other jobs, or run --preset demo)")
    if have_disk < need_disk:
        problems.append(f"{need_disk / GIB:.1f} GiB of disk needed under {out}, {have_disk / GIB:.1f} GiB free "
                        "(use --out on a larger disk)")
    if problems:
        raise SystemExit("not starting: " + "; ".join(problems))
    print(f"preflight: need ~{need_ram / GIB:.1f} GiB memory ({have_ram / GIB:.1f} available), "
          f"~{need_disk / GIB:.1f} GiB disk ({have_disk / GIB:.1f} free)")


def _g(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def _mbps(n_bytes: int, seconds: float) -> str:
    return f"{n_bytes / 1e6 / seconds:,.0f} MB/s" if seconds > 0 else "n/a"


def report(a: argparse.Namespace, r: dict, n_params: int) -> bool:
    """Print the numbers; True when the resume is bit-identical and the logits agree."""
    d, i1, i2, st, ex = (r[p] for p in PHASES)
    save1, save2 = i1["saves"][-1], i2["saves"][-1]
    files = ", ".join(f"{k} {v:,}" for k, v in save1["files"].items())
    t2 = i2["times"]
    load_s = t2["verify_s"] + t2["restore_s"]
    print("\n== results ==")
    print(f"model       {a.preset}: {i1['parameters']:,} parameters, context {a.context}, {a.dtype} compute, "
          f"CPU, {i1['threads']} threads")
    print(f"data        tokenizer {d['vocab_size']:,} entries in {d['tokenizer_s']:.1f} s on {d['text_bytes'] / 1e6:.1f} "
          f"MB of demo text; train {d['train_tokens']:,} tokens, val {d['val_tokens']:,}")
    print(f"step 1      build {i1['times']['init_s']:.1f} s (peak RSS {_g(i1['rss_init'])}), step "
          f"{i1['train_s']:.1f} s; peak RSS with the save {_g(i1['rss_fit'])}")
    print(f"checkpoint  {save1['bytes']:,} bytes ({_g(save1['bytes'])}: {files}); save {save1['seconds']:.1f} s "
          f"({_mbps(save1['bytes'], save1['seconds'])}, fsync and xxh3 checksums included)")
    print(f"resume      new process: checksums verified {t2['verify_s']:.1f} s + state restored "
          f"{t2['restore_s']:.1f} s = load {load_s:.1f} s ({_mbps(save1['bytes'], load_s)}); trainer built in "
          f"{t2['init_s']:.1f} s; peak RSS {_g(i2['rss_init'])}")
    print(f"step 2      step {i2['train_s']:.1f} s, eval and logging {i2['observe_s']:.1f} s, save "
          f"{save2['seconds']:.1f} s; peak RSS {_g(i2['rss_fit'])}")
    print(f"straight    steps 1-2 in one process: {st['train_s']:.1f} s; peak RSS {_g(st['rss_peak'])}")
    identical = _resume_check(a, r)
    same, full = ex["same_weights"], ex["fp32_checkpoint"]
    print(f"export      bfloat16 to {folders(Path(a.out))['export']} in {ex['export_s']:.1f} s "
          f"(model.safetensors {ex['export_files']['model.safetensors']:,} bytes); peak RSS {_g(ex['rss_export'])}")
    print(f"HF load     AutoModelForCausalLM -> {ex['hf_class']} ({ex['hf_param_dtype']}) in {ex['hf_load_s']:.1f} s; "
          f"peak RSS {_g(ex['rss_hf'])}")
    logits_ok = same["max_abs_diff"] <= LOGIT_TOL and same["unexplained"] == 0
    print(f"logits      HF vs our Llama, same exported weights, fp32: max |diff| {same['max_abs_diff']:.2e} "
          f"(tolerance {LOGIT_TOL:g}, logits up to {same['max_abs_logit']:.2f}): {'PASS' if logits_ok else 'FAIL'}; "
          f"argmax agrees at {same['argmax_agree']}/{same['positions']} positions")
    print(f"            HF (bf16 export) vs our fp32 checkpoint: max |diff| {full['max_abs_diff']:.2e}; argmax agrees "
          f"at {full['argmax_agree']}/{full['positions']} ({full['positions'] - full['argmax_agree'] - full['unexplained']}"
          f" of the others near ties)")
    peak = max(p["rss_peak"] for p in r.values())
    print(f"peak RSS    largest phase {_g(peak)}; baseline fp32 weights + grads + AdamW = parameters x 16 = "
          f"{_g(n_params * 16)}: ratio {peak / (n_params * 16):.2f}")
    print(f"ckpt bytes  {save1['bytes']:,} against the tensors' own parameters x 12 = {n_params * 12:,}: ratio "
          f"{save1['bytes'] / (n_params * 12):.4f}")
    ok = identical and logits_ok
    print(f"RESULT      {'PASS' if ok else 'FAIL'} (wall {sum(p['wall_s'] for p in r.values()):.0f} s)")
    return ok


def _resume_check(a: argparse.Namespace, r: dict) -> bool:
    """Compare the resumed run with the straight one: losses, evaluation, every tensor's hash."""
    i1, i2, st = r["interrupted-1"], r["interrupted-2"], r["straight"]
    resumed_losses = i1["losses"] + i2["losses"]
    ha, hb = st["hashes"], i2["hashes"]
    differ = sorted(k for k in set(ha) | set(hb) if ha.get(k) != hb.get(k))
    same_files = [n for n in ("model.pt", "optimizer.pt", "rng.pt")
                  if st["saves"][-1]["sentinel"][n] == i2["saves"][-1]["sentinel"][n]]
    n_model, n_opt = sum(k.startswith("model/") for k in ha), sum(k.count("/") == 2 for k in ha)
    ok = resumed_losses == st["losses"] and i2["last_eval"] == st["last_eval"] and not differ
    losses = ", ".join(f"step {s}: {v!r}" for s, v in st["losses"])
    if ok:
        print(f"resume      IDENTICAL: losses ({losses}), val loss {st['last_eval']['val_loss']!r}, and all "
              f"{n_model + n_opt:,} tensors ({n_model} model, {n_opt} AdamW) and the param groups bit for bit; "
              f"checkpoint files byte-identical: {', '.join(same_files) or 'none'}")
        return True
    print(f"resume      NOT IDENTICAL: straight losses {st['losses']}, resumed {resumed_losses}; val "
          f"{st['last_eval'] and st['last_eval']['val_loss']} vs {i2['last_eval'] and i2['last_eval']['val_loss']}; "
          f"{len(differ)} of {len(ha)} tensors differ")
    if differ:
        diff = run_phase("diff", a)["diff"]
        worst = sorted(diff.items(), key=lambda kv: -kv[1])[:10]
        print("            largest differences: " + "; ".join(f"{k} {v:.3e}" for k, v in worst))
    return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("/tmp/kuznia-model-size"), help="scratch folder")
    p.add_argument("--preset", default="apt3-1b", choices=sorted(PRESETS))
    p.add_argument("--context", type=int, default=64, help="tokens per training window")
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"],
                   help="compute precision (autocast); weights and AdamW state are fp32 either way")
    p.add_argument("--keep", action="store_true", help="keep the checkpoints, shards and export")
    p.add_argument("--phase", choices=[*PHASES, "diff"], help=argparse.SUPPRESS)  # internal: one phase
    a = p.parse_args(argv)
    a.out = a.out.resolve()
    if a.phase:
        return child(a)
    args = replace(preset_args(a.preset), context_tokens=a.context)
    n_params = count_parameters(args)
    if a.preset == "apt3-1b" and n_params != APT3_PARAMETERS:
        raise SystemExit(f"apt3-1b has {n_params:,} parameters, the card says {APT3_PARAMETERS:,}")
    preflight(a.out, n_params, a.dtype)
    made = [*folders(a.out).values(), a.out / "straight", a.out / "export"]
    for path in made:
        shutil.rmtree(path, ignore_errors=True)
    r = {}
    for phase in PHASES:
        r[phase] = run_phase(phase, a)
        if r[phase].get("parameters", n_params) != n_params:
            raise SystemExit(f"the trainer built {r[phase]['parameters']:,} parameters, expected {n_params:,}")
    ok = report(a, r, n_params)
    if not a.keep:  # the records stay in results/; a failed phase leaves everything for a look
        for path in made:
            if path.name != "results":
                shutil.rmtree(path, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
