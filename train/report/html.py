"""`report.json` of a training run -> one self-contained HTML page (`kuznia.htmlpage` blocks).

Sections: where the run stands (step, tokens, figures, time left), the curves, validation per
source, generation samples, checkpoints, the comparison with other models (when the eval stage
has run), the model and the recipe, and runs set aside.
"""

from __future__ import annotations

from kuznia.htmlpage import esc, fmt, img, page, table, warnings_html
from kuznia.progress import duration_text
from train.report import charts

SECTIONS = [("status", "Run"), ("curves", "Curves"), ("sources", "Validation per source"),
            ("samples", "Samples"), ("checkpoints", "Checkpoints"), ("compare", "Models compared"),
            ("recipe", "Model and recipe"), ("superseded", "Runs set aside")]
EXTRA_CSS = """
td.sample{white-space:pre-wrap;text-align:left;max-width:52rem;overflow-wrap:anywhere;font-size:.8rem}
.figures{display:flex;flex-wrap:wrap;gap:1.5rem;margin:.5rem 0}.figures div{background:#fff;
 border:1px solid #dee2e6;padding:.4rem .8rem}.figures b{display:block;font-size:1.2rem}
"""
SAMPLE_EVALS = 8  # evaluations whose samples are listed (the newest)
SOURCE_EVALS = 6  # evaluations shown as columns of the per-source table (the newest)


def _figure(label: str, value: str) -> str:
    return f"<div>{esc(label)}<b>{esc(value)}</b></div>"


def sec_status(r: dict) -> str:
    s, facts = r["status"], r["facts"]
    figures = [("step", f"{s.get('step', 0):,} / {fmt(s.get('max_steps'))}"), ("tokens", fmt(s.get("tokens"))),
               ("train loss", fmt(s.get("loss"))), ("val loss", fmt(s.get("val_loss"))),
               ("val bits per byte", fmt(s.get("val_bpb"))),
               ("time left", "done" if s.get("step") == s.get("max_steps") else
                duration_text(s["eta_s"]) if s.get("eta_s") is not None else "—"),
               ("peak memory", f"{s['peak_mem_gib']:.2f} GiB" if s.get("peak_mem_gib") else "—")]
    where = f"Updated {s['updated']}. " if s.get("updated") else ""
    device = f"{facts.get('device_name', '?')} ({facts.get('device', '?')})" if facts else "?"
    return (warnings_html(r["missing"]) + '<div class="figures">' + "".join(_figure(k, v) for k, v in figures)
            + f"</div><p>{esc(where)}Device: {esc(device)}. The time left is at the pace of the last "
            "logged steps, evaluations and saves included.</p>")


def sec_curves(r: dict) -> str:
    c, evals = r["curves"], r["evals"]
    if not c["step"]:
        return "<p>No logged step yet.</p>"
    tps = r["facts"].get("tokens_per_step")
    pair = [img(charts.loss_chart(c["step"], c["loss"], [e["step"] for e in evals],
                                  [e["val_loss"] for e in evals], tps), "train and val loss")]
    if any(e["val_bpb"] is not None for e in evals):
        names = sorted({s for e in evals for s in (e.get("val_sources") or {})})
        by_source = {n: [((e.get("val_sources") or {}).get(n) or {}).get("bpb") for e in evals] for n in names}
        pair.append(img(charts.bpb_chart([e["step"] for e in evals], [e["val_bpb"] for e in evals], by_source, tps),
                        "val bits per byte"))
    dynamics = img(charts.dynamics_chart(c["step"], c["lr"], c["grad_norm"], c["tokens_per_s"], c["mfu"]),
                   "learning rate, gradient norm, throughput")
    return f'<div class="grid">{"".join(pair)}</div>{dynamics}'



def sec_sources(r: dict) -> str:
    evals = [e for e in r["evals"] if e.get("val_sources")]
    val = (r["facts"].get("val") or {})
    note = (f"<p>Each evaluation scores the same val text: per source, its first val documents, cut to "
            f"{fmt(val.get('bytes_per_source'))} bytes in all. Bits per byte compare across tokenizers; "
            "loss per token only within one.</p>")
    no_val = warnings_html([f"no val documents for {s}: it has no figures (tokens.val_min_docs)"
                            for s in val.get("no_val") or []])
    if not evals:
        return note + no_val + "<p>No evaluation with per-source figures yet.</p>"
    last, shown = evals[-1], evals[-SOURCE_EVALS:]
    names = sorted(last["val_sources"])
    bars = img(charts.source_bars(names, [last["val_sources"][n]["bpb"] or 0.0 for n in names], last["step"]),
               "bits per byte per source")
    headers = ["source", "texts", "bytes", "tokens", "loss", *[f"bpb at {e['step']:,}" for e in shown]]
    rows = []
    for n in names:
        f = last["val_sources"][n]
        rows.append([n, f["texts"], f["bytes"], f["tokens"], f["loss"],
                     *[((e["val_sources"].get(n) or {}).get("bpb")) for e in shown]])
    return note + no_val + bars + table(headers, rows, "sources-table", filter_box=len(rows) > 10)


def sec_samples(r: dict) -> str:
    if not r["samples"]:
        return "<p>No samples yet (train.sample_prompts; they need the tokenizer).</p>"
    out = []
    prompts = [s["prompt"] for s in r["samples"][-1]["samples"]]
    for i, prompt in enumerate(prompts):
        rows = [(e["step"], e["samples"][i]["text"]) for e in reversed(r["samples"][-SAMPLE_EVALS:])
                if i < len(e["samples"])]
        out.append(f"<h3>{esc(prompt)}…</h3><table><thead><tr><th>step</th><th class='t'>continuation</th></tr>"
                   "</thead><tbody>" + "".join(f"<tr><td>{s:,}</td><td class='sample'>{esc(t)}</td></tr>"
                                               for s, t in rows) + "</tbody></table>")
    return "<p>Seeded sampling (temperature 0.8, top-k 50, top-p 0.95), the same seed at every step.</p>" + "".join(out)


def sec_checkpoints(r: dict) -> str:
    rows = [[c["folder"], c["step"], c["val_loss"], c["val_bpb"], round(c["bytes"] / 1e6, 2)] for c in r["checkpoints"]]
    if not rows:
        return "<p>No complete checkpoint yet.</p>"
    return table(["checkpoint", "step", "val loss", "val bits per byte", "MB"], rows, "checkpoints-table")


def sec_compare(r: dict) -> str:
    comp = r.get("comparison")
    if not comp:
        return ("<p>Not run yet: <code>kuznia eval</code> scores this run's export, any checkpoint and any "
                "local Hugging Face causal LM (<code>--model DIR</code>) on the same val text.</p>")
    models = [m["name"] for m in comp["models"]]
    rows = [[s["name"], s.get("bytes"), *[(m["sets"].get(s["name"]) or {}).get("bpb") for m in comp["models"]]]
            for s in comp["sets"]]
    return ("<p>Bits per byte (lower is better) of each model on the same text.</p>"
            + table(["text", "bytes", *models], rows, "compare-table"))


def sec_recipe(r: dict) -> str:
    f = r["facts"]
    if not f:
        return "<p>The run has not started.</p>"
    m = f["model"]
    items = [("parameters", f"{f['parameters']:,} ({f['non_embedding_parameters']:,} non-embedding)"),
             ("shape", f"{m['n_layers']} layers, d_model {m['d_model']}, {m['n_heads']} heads, "
                       f"intermediate {m['intermediate_size']}, vocab {m['vocab_size']:,}, context {m['context_tokens']:,}"),
             ("FLOPs per token (train)", f"{f['flops_per_token'] / 1e9:.3f} GFLOP"),
             ("tokens per step", f"{f['tokens_per_step']:,}"), ("train split", f"{f['train_tokens']:,} tokens"),
             ("device peak", f"{f['peak_flops'] / 1e12:.0f} TFLOP/s" if f.get("peak_flops") else "unknown (no MFU)"),
             ("seed", f["seed"])]
    train = sorted((k, v) for k, v in f["train"].items() if k != "sample_prompts")
    return ('<dl class="run">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items) + "</dl>"
            + table(["train setting", "value"], [[k, str(v)] for k, v in train], "config-table", text_cols=2))


def sec_superseded(r: dict) -> str:
    if not r["superseded"]:
        return "<p>None.</p>"
    return table(["folder", "why", "last step"], [[s["folder"], s["why"], s["last_step"]] for s in r["superseded"]],
                 "superseded-table", text_cols=2)


RENDER = {"status": sec_status, "curves": sec_curves, "sources": sec_sources, "samples": sec_samples,
          "checkpoints": sec_checkpoints, "compare": sec_compare, "recipe": sec_recipe, "superseded": sec_superseded}


def render(report: dict) -> str:
    """The whole page."""
    body = "".join(f'<section id="{key}"><h2>{esc(title)}</h2>{RENDER[key](report)}</section>'
                   for key, title in SECTIONS)
    return page(report["title"], SECTIONS, body, extra_css=EXTRA_CSS)
