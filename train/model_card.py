"""The model card: `export/hf/README.md`, as the Hugging Face ecosystem expects one.

YAML metadata (`huggingface_hub.ModelCardData`: language, license, datasets, tags, a
`model-index` with bits per byte per val source) and a body laid out like APT3-1B-Base's card:
description, model details, tokenizer, training (this run's recipe beside APT3's), training
data, evaluation, how to use, intended use and limitations, license. Every number comes from
the run's manifests and files (the train and tokens manifests, the checkpoint's `meta.json`, the
tokenizer manifest, the corpus manifest and the dataset card `corpus/README.md`), never typed
in, and the card holds no dates, so an export of the same checkpoint writes the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

from kuznia.files import write_text_atomic
from kuznia.htmlpage import markdown_table, md_cell
from kuznia.licenses import UNKNOWN, by_license, combine
from kuznia.manifest import PACKAGE_VERSION
from kuznia.stage import read_manifest
from model.config import ModelArgs, preset_args
from model.flops import count_parameters
from train.checkpoint import read_meta
from train.config import TrainConfig

CARD = "README.md"
DATASET_CARD = "README.md"  # in the corpus folder (corpus/select/dataset_card.py)
VAL_DATASET = "kuznia-val"


def _dataset_card(work_dir: Path) -> dict:
    path = work_dir / "corpus" / DATASET_CARD
    if not path.exists():
        return {}
    from huggingface_hub import DatasetCard

    return DatasetCard.load(path).data.to_dict()


def _hub_dataset(source: str) -> str:
    """A source's name as a `datasets:` entry (the Hub's own id for Wikipedia)."""
    kind, _, name = source.partition(".")
    if kind == "wikipedia":
        return "wikimedia/wikipedia"
    return f"{kind}/{name}" if name else source


def card_facts(work_dir: Path, checkpoint: Path) -> dict:
    """The numbers the card shows, gathered from the manifests (see the module docstring)."""
    meta = read_meta(checkpoint)
    train_m = read_manifest(work_dir / "checkpoints") or {}
    final = train_m.get("checkpoint") == Path(checkpoint).name
    evaluated = train_m.get("eval") if final else _eval_at(Path(checkpoint).parent, int(meta["step"]))
    return {"meta": meta, "args": ModelArgs.from_dict(meta["model"]), "eval": evaluated or {},
            "tokens": read_manifest(work_dir / "tokens") or {}, "tokenizer": read_manifest(work_dir / "tokenizer") or {},
            "corpus": read_manifest(work_dir / "corpus") or {}, "dataset": _dataset_card(work_dir),
            "max_steps": (meta.get("train") or {}).get("max_steps")}


def _eval_at(root: Path, step: int) -> dict | None:
    """The val figures logged at a step (a checkpoint other than the run's last)."""
    path = root / "metrics.jsonl"
    for line in path.read_text("utf-8").splitlines() if path.exists() else []:
        r = json.loads(line)
        if r.get("step") == step and r.get("val_loss") is not None:
            return {k: v for k, v in r.items() if k.startswith("val_")}
    return None


def card_license(f: dict, license_id: str | None) -> tuple[str, str]:
    """(the Hub license id, why): the config's choice, else what the sources' licenses allow."""
    if license_id:
        return license_id, "set in the config (export.license)"
    licenses = f["dataset"].get("source_licenses")
    if not licenses:
        return UNKNOWN, "no dataset card (corpus/README.md) states the sources' licenses"
    combined = combine(licenses)
    return combined.hub, combined.why


def card_metadata(f: dict, name: str, lic: str):
    """The card's YAML metadata (`huggingface_hub.ModelCardData`)."""
    from huggingface_hub import EvalResult, ModelCardData

    ds = f["dataset"]
    # One result per val source; the Hub groups results by dataset type and config: the source is the config.
    per = [("all", f["eval"].get("val_bpb"))] + [(src, figs.get("bpb")) for src, figs in
                                                  sorted((f["eval"].get("val_sources") or {}).items())]
    results = [EvalResult(task_type="text-generation", task_name="Causal language modeling", dataset_type=VAL_DATASET,
                          dataset_name=f"Kuźnia val split: {'all sources' if src == 'all' else src}",
                          dataset_config=src, dataset_split="validation", metric_type="bits_per_byte",
                          metric_name="Bits per byte", metric_value=bpb) for src, bpb in per if bpb is not None]
    extra = {"license_name": "mixed-source-licenses"} if lic == "other" else {}
    sources = sorted((f["tokens"].get("sources") or {}))
    meta = f["meta"]
    return ModelCardData(
        language=["pl"], license=lic, library_name="transformers", pipeline_tag="text-generation",
        tags=["kuznia", "llama", "polish", "causal-lm", "base-model"], datasets=[_hub_dataset(s) for s in sources],
        model_name=name, eval_results=results or None, **extra,
        kuznia={"version": PACKAGE_VERSION, "checkpoint": f"step-{int(meta['step']):07d}",
                "training_steps": int(meta["step"]), "training_tokens": int(meta["tokens_seen"]),
                "parameters": count_parameters(f["args"]), "source_licenses": ds.get("source_licenses") or {}})


def details_section(f: dict) -> str:
    """Model and tokenizer details, laid out as APT3's card lays them out."""
    a, tok = f["args"], f["tokenizer"]
    rows = [["Model Parameters", f"{count_parameters(a):,}"], ["Sequence Length", a.context_tokens],
            ["Vocabulary Size", a.vocab_size], ["Layers", a.n_layers], ["Heads", a.n_heads], ["d_head", a.head_dim],
            ["d_model", a.d_model], ["Dropout", "0.0"], ["Bias", "No"], ["Positional Encoding", f"RoPE (θ = {a.rope_theta:g})"],
            ["Activation Function", "SwiGLU"], ["Normalizing Function", "RMSNorm"],
            ["Intermediate Size", a.intermediate_size], ["Norm Epsilon", f"{a.norm_eps:g}"]]
    special = len(tok.get("special_tokens") or [])
    alphabet = len(tok.get("alphabet") or "")
    return ("## Model details\n\n" + markdown_table(["Hyperparameter", "Value"], rows) + "\n\n## Tokenizer\n\n"
            f"- type: BPE with byte fallback (every string round-trips)\n- special tokens: {special}\n"
            f"- alphabet size: {alphabet}\n- vocabulary size: {tok.get('vocab_size', a.vocab_size):,}\n")


def training_section(f: dict) -> str:
    """This run's recipe beside APT3-1B-Base's (the defaults of `TrainConfig` are APT3's recipe)."""
    t, base, meta = TrainConfig.model_validate(f["meta"]["train"]), TrainConfig(), f["meta"]
    apt3 = preset_args("apt3-1b")

    def batch(c: TrainConfig, context: int) -> int:
        return c.micro_batch_size * c.grad_accum_steps * context

    rows = [["Micro Batch Size", t.micro_batch_size, base.micro_batch_size],
            ["Gradient Accumulation Steps", t.grad_accum_steps, base.grad_accum_steps],
            ["Batch Size (tokens)", batch(t, f["args"].context_tokens), batch(base, apt3.context_tokens)],
            ["Learning Rate (cosine)", f"{t.lr:g} -> {t.min_lr:g}", f"{base.lr:g} -> {base.min_lr:g}"],
            ["Warmup Iterations", t.warmup_steps, base.warmup_steps], ["All Iterations", t.max_steps, base.max_steps],
            ["Optimizer", "AdamW", "AdamW"], ["β1, β2", f"{t.beta1}, {t.beta2}", f"{base.beta1}, {base.beta2}"],
            ["Adam_eps", f"{t.adam_eps:g}", f"{base.adam_eps:g}"], ["Weight Decay", t.weight_decay, base.weight_decay],
            ["Grad Clip", t.grad_clip_norm, base.grad_clip_norm], ["Precision", t.dtype, base.dtype]]
    train_tokens = (f["tokens"].get("counts") or {}).get("train_tokens")
    seen = int(meta["tokens_seen"])
    epochs = f" ({seen / train_tokens:.2f} epochs of the train split's {train_tokens:,} tokens)" if train_tokens else ""
    return ("## Training\n\n" + markdown_table(["Hyperparameter", "This model", "APT3-1B-Base recipe"], rows)
            + f"\n\nThis checkpoint: step {int(meta['step']):,} of {t.max_steps:,}, {seen:,} tokens seen{epochs}, "
            f"last training loss {md_cell(meta.get('last_loss'))}. Trained with Kuźnia {PACKAGE_VERSION}.\n")


def data_section(f: dict) -> str:
    """The sources with their licenses and the tokens each gave the train split."""
    sources = f["tokens"].get("sources") or {}
    licenses = (f["dataset"].get("source_licenses") or {})
    train = {name: s.get("train") or {"docs": 0, "tokens": 0} for name, s in sources.items()}
    total = sum(t["tokens"] for t in train.values()) or 1
    rows = [[name, licenses.get(name, UNKNOWN), t["docs"], t["tokens"], f"{100 * t['tokens'] / total:.1f} %"]
            for name, t in sorted(train.items())]
    corpus = (f["corpus"].get("counts") or {})
    return ("## Training data\n\n" + f"A corpus of {corpus.get('documents', 0):,} documents "
            f"({corpus.get('characters', 0):,} characters) from {len(sources)} sources, cleaned, filtered and "
            "deduplicated by Kuźnia; its dataset card (`corpus/README.md` of the run) gives the filtering "
            "funnel, the duplicate rates and the known caveats.\n\n"
            + markdown_table(["source", "license", "documents (train)", "tokens (train)", "share"], rows, text_cols=2)
            + "\n")


def eval_section(f: dict) -> str:
    """Bits per byte on the val split, overall and per source."""
    e = f["eval"]
    if not e:
        return ("## Evaluation\n\nThis checkpoint was not evaluated during training; "
                "`kuznia eval --model <this folder>` scores it.\n")
    rows = [[s, v.get("bpb"), v.get("loss"), v.get("tokens"), v.get("bytes")]
            for s, v in sorted((e.get("val_sources") or {}).items())]
    rows.append(["all sources", e.get("val_bpb"), e.get("val_loss"), e.get("val_tokens"), e.get("val_bytes")])
    return ("## Evaluation\n\nBits per byte (lower is better; comparable across tokenizers) and loss per token on "
            "the held-out val split: per source, its first val documents, the same text for every model "
            "(`kuznia eval --model <dir>` scores any Hugging Face causal LM on it, e.g. APT3-1B-Base).\n\n"
            + markdown_table(["val text", "bits per byte", "loss", "tokens", "bytes"], rows) + "\n")


def usage_section(name: str) -> str:
    return f"""## How to use

```python
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

tokenizer = AutoTokenizer.from_pretrained("{name}")
model = AutoModelForCausalLM.from_pretrained("{name}", dtype=torch.bfloat16)
generate = pipeline("text-generation", model=model, tokenizer=tokenizer)
print(generate("Najważniejszym celem człowieka na ziemi jest", max_new_tokens=100, do_sample=True,
               top_k=50, eos_token_id=tokenizer.eos_token_id)[0]["generated_text"])
```
"""


def limits_section(f: dict, lic: str, why: str) -> str:
    seen = int(f["meta"]["tokens_seen"])
    small = (f"\n- This run saw {seen:,} tokens (APT3-1B-Base saw over 60 billion): it shows the pipeline "
             "at work and is not a usable language model.") if seen < 1_000_000_000 else ""
    groups = by_license(f["dataset"].get("source_licenses") or {})
    lines = "\n".join(f"- {lic_}: {', '.join(srcs)}" for lic_, srcs in groups.items()) or "- (no dataset card found)"
    return f"""## Intended use and limitations

- A base model: not fine-tuned to follow instructions, and not meant to talk to people without
  further training, safeguards and their consent.
- It can produce text that is wrong, biased or offensive: it learned from public Polish text,
  filtered by rules, not reviewed by people. Do not rely on it for facts.{small}

## License

`{lic}`: {why}. The sources' licenses:

{lines}

The license was derived mechanically from the sources' own licenses; it is not legal advice. Set
`export.license` to publish under the license you choose (APT3-1B-Base chose CC BY-NC 4.0).
"""


def write_model_card(work_dir: Path, out_dir: Path, checkpoint: Path, *, name: str | None = None,
                     license_id: str | None = None) -> Path:
    """Write `out_dir/README.md` for an export of `checkpoint` (see the module docstring)."""
    f = card_facts(Path(work_dir), Path(checkpoint))
    name = name or f"kuznia-{round(count_parameters(f['args']) / 1e6, 1):g}m"
    lic, why = card_license(f, license_id)
    data = card_metadata(f, name, lic)
    body = "\n".join([
        f"# {name}\n\n{name} is a Polish causal language model trained from scratch with Kuźnia, an open tool "
        "that turns public Polish text into a trained LLaMA-like model, following the recipe of Azurro's "
        "APT3-1B-Base.\n\n## Model description\n\n- developed with: Kuźnia\n- language: Polish\n"
        f"- model type: causal decoder-only (LLaMA-like)\n- license: {data.license}\n"
        f"- parameters: {count_parameters(f['args']):,}\n",
        details_section(f), training_section(f), data_section(f), eval_section(f), usage_section(name),
        limits_section(f, data.license, why)])
    text = f"---\n{data.to_yaml()}\n---\n\n{body}"
    path = Path(out_dir) / CARD
    write_text_atomic(path, text)
    return path
