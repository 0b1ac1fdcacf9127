"""Config sections of the train and export stages.

Defaults are the APT3-1B-Base recipe from its model card (micro batch 1, accumulation 1024,
28,900 steps, 1000 warmup, cosine 2e-4 -> 2e-5, AdamW 0.9/0.95/1e-8, wd 0.1, clip 1.0, bf16);
`configs/demo.yaml` shrinks them to a CPU run of about two minutes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kuznia.config import Section

# Polish prompts (data) whose continuations the report shows at each evaluation.
SAMPLE_PROMPTS = ("Najważniejszym celem człowieka na ziemi jest", "Polska jest krajem, w którym",
                  "Program służy do")


class TrainConfig(Section):
    """The training recipe, the device, and how often to evaluate and checkpoint."""

    # Cannot change outputs: where to resume from, and what the run shows besides its checkpoints.
    NOT_FINGERPRINTED = frozenset({"resume", "tensorboard", "report", "sample_prompts", "sample_tokens", "node_rank",
                                   "rdzv_endpoint", "rdzv_id", "rdzv_backend", "dist_timeout_s", "trace_windows"})

    micro_batch_size: int = Field(1, ge=1)
    """Windows per forward/backward pass."""
    grad_accum_steps: int = Field(1024, ge=1)
    """Micro batches per optimizer step, over all devices together: tokens per step =
    micro_batch_size x this x context, whatever the number of devices. On W devices (devices x
    nodes) each runs this / W of them, so it must be a multiple of W."""
    max_steps: int = Field(28900, ge=1)
    """Optimizer steps in the whole run (the cosine reaches `min_lr` here)."""
    warmup_steps: int = Field(1000, ge=0)
    """Steps of linear warmup from 0 to `lr`."""
    lr: float = Field(2e-4, gt=0)
    """Peak learning rate, reached at the end of warmup."""
    min_lr: float = Field(2e-5, ge=0)
    """The floor the cosine decays to at `max_steps`."""
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.95, ge=0, lt=1)
    adam_eps: float = Field(1e-8, gt=0)
    weight_decay: float = Field(0.1, ge=0)
    """Applied to matrices only (not to norms)."""
    grad_clip_norm: float | None = Field(1.0, gt=0)
    """Clip the global gradient norm to this; None: no clipping."""

    device: Literal["auto", "cpu", "cuda"] = "auto"
    """`auto`: CUDA when available, else CPU."""
    devices: int = Field(1, ge=1)
    """Processes (GPUs) per node. Above 1 (or with `nodes` above 1) the stage launches PyTorch's
    torchrun on `train/`, one process per device; each reads its own slice of the same global
    batch order, so the data order and the global batch are those of one device."""
    nodes: int = Field(1, ge=1)
    """Machines taking part; each runs the stage (or torchrun) with its own `node_rank`."""
    node_rank: int = Field(0, ge=0)
    """This machine's place among the `nodes` (0 writes the checkpoints and the manifest)."""
    rdzv_endpoint: str = "127.0.0.1:29500"
    """torchrun's rendezvous `host:port`: an address of node 0 that every node can reach."""
    rdzv_id: str = "kuznia"
    """torchrun's rendezvous id: the same on every node of one run."""
    rdzv_backend: Literal["c10d", "static"] = "c10d"
    """torchrun's rendezvous backend (`c10d`: node 0 hosts it at `rdzv_endpoint`)."""
    parallel: Literal["ddp", "fsdp"] = "ddp"
    """With several devices: `ddp` (each holds the whole model; gradients averaged) or `fsdp`
    (FSDP2 `fully_shard`: weights, gradients and AdamW state split over the devices, for memory)."""
    dist_timeout_s: int = Field(1800, ge=10)
    """How long a process waits in a collective (for a peer's checkpoint save or evaluation)
    before failing. A peer that dies is noticed sooner: torchrun stops the others."""
    trace_windows: bool = False
    """Write the window ids each process trained on, per micro batch, to
    `checkpoints/trace/windows-rank<R>.jsonl` (to check the data order; small)."""
    dtype: Literal["bfloat16", "float32"] = "bfloat16"
    """Compute precision (autocast); weights, gradients and AdamW state stay fp32 either way."""
    compile: bool = False
    """torch.compile the model (CUDA; a no-op warning on CPU)."""
    activation_checkpointing: Literal["none", "mlp", "block"] = "none"
    """Recompute in backward: `mlp` (the SwiGLU of each block) or `block` (every whole block)."""
    loss_chunk_tokens: int | None = Field(None, ge=1)
    """Compute the output head + loss in chunks of this many tokens, recomputed in backward,
    so the full (tokens x vocab) logits never exist at once. None: in one piece."""
    max_memory_gib: float | None = Field(None, gt=0)
    """Cap this process's CUDA memory (e.g. 24 to stand in for an RTX 4090); None: no cap."""
    peak_tflops: float | None = Field(None, gt=0)
    """The device's dense peak for MFU; None: known GPUs by name (H100 989), else no MFU."""

    seed: int | None = None
    """Seed of the initial weights and the data order; None: the pipeline's `seed`."""
    eval_every_steps: int = Field(500, ge=0)
    """Evaluate on the val split every N steps (and at the end); 0: only at the end."""
    eval_bytes_per_source: int = Field(65536, ge=1)
    """Val text scored per source at each evaluation: the source's first val documents (in shard
    order), cut to this many UTF-8 bytes in all. The same text every time, and what `kuznia eval`
    scores other models on; bits per byte are reported per source and over all of it."""
    checkpoint_every_steps: int = Field(250, ge=1)
    """Save a checkpoint every N steps (and at the end, and on SIGTERM/SIGINT)."""
    keep_checkpoints: int = Field(3, ge=1)
    """Keep the newest K complete checkpoints; older ones are deleted."""
    resume: str = "auto"
    """`auto`: continue from the newest complete checkpoint when it fits this run (the same model
    shape, tokenizer and token shards); one that does not is set aside under
    `checkpoints/superseded/` (kept) and training starts over. `must`: continue, or fail (no
    checkpoint, or one that does not fit). `no` (or `false`): start over, deleting the
    checkpoints. Or a path to a `step-NNNNNNN` folder."""
    log_every_steps: int = Field(10, ge=1)
    """Write a metrics line (and refresh the progress bar) every N steps."""
    tensorboard: bool = True
    """Write TensorBoard event files to `checkpoints/tensorboard/` (`tensorboard --logdir
    <work_dir>/checkpoints`); needs the `tensorboard` extra (`pip install 'kuznia[tensorboard]'`),
    and without it the run says so once and goes on."""
    report: bool = True
    """Write the training report (`checkpoints/report/report.html`) at each evaluation."""
    sample_prompts: list[str] = Field(default_factory=lambda: list(SAMPLE_PROMPTS))
    """Prompts continued at each evaluation (seeded sampling), shown in the report; [] for none."""
    sample_tokens: int = Field(48, ge=1)
    """Tokens sampled after each prompt."""

    @property
    def world_size(self) -> int:
        """Processes taking part in training: devices per node x nodes."""
        return self.devices * self.nodes

    @field_validator("resume", mode="before")
    @classmethod
    def _resume_words(cls, v: object) -> object:
        # YAML reads `no`, `off`, `false` as False (`--set train.resume=no`): that means `no`.
        if v is False:
            return "no"
        if v is True:
            raise ValueError("true is not a resume mode (YAML reads yes/on/true as true): write "
                             "auto, must, no, or the path of a step-NNNNNNN folder")
        return v

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        problems = []
        if self.warmup_steps > self.max_steps:
            problems.append(f"train.warmup_steps ({self.warmup_steps}) exceeds train.max_steps ({self.max_steps})")
        if self.min_lr > self.lr:
            problems.append(f"train.min_lr ({self.min_lr}) exceeds train.lr ({self.lr})")
        if self.grad_accum_steps % self.world_size:
            problems.append(f"train.grad_accum_steps ({self.grad_accum_steps}) is not a multiple of the "
                            f"{self.world_size} processes (train.devices {self.devices} x train.nodes "
                            f"{self.nodes}): each process runs grad_accum_steps / processes micro batches")
        if self.node_rank >= self.nodes:
            problems.append(f"train.node_rank ({self.node_rank}) must be below train.nodes ({self.nodes})")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ExportConfig(Section):
    """Export the final checkpoint to a transformers folder (`export/hf/`)."""

    dtype: Literal["float32", "bfloat16"] = "bfloat16"
    """Weights dtype of the export (bf16 halves the size; training ran in bf16 anyway)."""
    step: int | None = Field(None, ge=0)
    """Export this checkpoint step; None: the newest complete checkpoint."""
    model_name: str | None = None
    """The model's name on its card (`export/hf/README.md`); None: `kuznia-<parameters>`."""
    license: str | None = None
    """The license the card states (a Hugging Face Hub id, e.g. `cc-by-nc-4.0`, APT3's choice);
    None: derived from the sources' licenses, as the dataset card states them (`kuznia/licenses.py`)."""


class EvalConfig(Section):
    """The `eval` stage: bits per byte of this run's export and of other models, on the same text."""

    # The models and files are identified by what is on disk (the stage's inputs), not by their
    # paths' text: adding a model re-runs the stage, and only that model is scored again.
    NOT_FINGERPRINTED = frozenset({"models", "text_files"})

    export: bool = True
    """Score this run's export (`export/hf/`)."""
    models: list[str] = Field(default_factory=list)
    """Other models on this machine, scored on the same text: Hugging Face causal LM folders
    (`config.json`, weights and tokenizer; e.g. a download of Azurro/APT3-1B-Base) or our checkpoints
    (a `step-NNNNNNN` folder, or a checkpoints folder for its newest)."""
    text_files: list[str] = Field(default_factory=list)
    """Text files scored as sets of their own: `.txt` (the file is one text) or `.jsonl` (a text per
    line, in `text_field`)."""
    text_field: str = "text"
    """The field holding the text in `.jsonl` files."""
    max_bytes: int | None = Field(None, ge=1)
    """UTF-8 bytes scored per val source and per file; None: `train.eval_bytes_per_source`, so the
    export's figures are on the very text the train stage evaluated."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """`auto`: CUDA when available, else CPU."""
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    """Compute precision: `auto` is bfloat16 autocast on CUDA and float32 on CPU."""
    batch_tokens: int = Field(8192, ge=1)
    """Tokens (rows x window, padding included) per forward pass."""
    context_tokens: int | None = Field(None, ge=1)
    """Window of the rolling evaluation; None: each model's own context length."""
