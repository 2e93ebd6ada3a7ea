"""Build a small causal LM offline: a byte-level BPE tokenizer trained with ``tokenizers`` and
a model trained on dialogues (loss on the answers only), saved with ``save_pretrained``.

The result loads like any hub model (``Engine.load(path)``). The tests build their tiny models
with this same code.

Batches group dialogues of similar length (a window of shuffled dialogues sorted by length,
cut into batches, the batches shuffled), so a step pads little: the responder's dialogues run
from 30 to 300 tokens, and padding every batch to its longest would waste much of each step.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

from generation.model_store import READY_MARKER
from generation.responder.dialogues import Example
from generation.threads import cpu_has_native_bf16

EOS = "<|endoftext|>"
# Batches are formed within windows of this many batches' worth of dialogues.
BUCKET_WINDOW = 64
WIDTH_STEP = 16


@dataclass(frozen=True)
class ModelSpec:
    # "llama": rotary positions, with which a small model learns to copy from its prompt in
    # fewer steps than with GPT-2's learnt absolute positions; "gpt2" runs
    # the engine's lean decode step.
    arch: str = "llama"
    n_layer: int = 4
    n_embd: int = 256
    n_head: int = 4
    n_positions: int = 384
    vocab_size: int = 6000
    steps: int = 800
    batch_size: int = 32
    learning_rate: float = 3e-3
    seed: int = 1234
    bf16: bool = True  # mixed precision where the CPU has native bf16 (fp32 elsewhere)


Progress = Callable[[int, int, float], None]


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS], show_progress=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, eos_token=EOS, bos_token=EOS, unk_token=EOS, pad_token=EOS
    )


def encode_examples(tokenizer: Any, examples: Sequence[Example], max_len: int) -> list[tuple[list[int], list[int]]]:
    """(input ids, labels) per dialogue: the loss falls on the answer and its end only, so the
    model learns to reply, not to imitate customers or articles."""
    encoded = []
    eos = tokenizer.eos_token_id
    for example in examples:
        prompt_ids = tokenizer(example.prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(example.answer, add_special_tokens=False)["input_ids"] + [eos]
        ids = (prompt_ids + answer_ids)[-max_len:]
        labels = ([-100] * len(prompt_ids) + answer_ids)[-max_len:]
        encoded.append((ids, labels))
    return encoded


def new_model(spec: ModelSpec, tokenizer: Any) -> Any:
    eos = tokenizer.eos_token_id
    if spec.arch == "gpt2":
        return GPT2LMHeadModel(
            GPT2Config(
                vocab_size=len(tokenizer),
                n_positions=spec.n_positions,
                n_embd=spec.n_embd,
                n_layer=spec.n_layer,
                n_head=spec.n_head,
                bos_token_id=eos,
                eos_token_id=eos,
                pad_token_id=eos,
                activation_function="gelu_pytorch_tanh",
                resid_pdrop=0.0,
                embd_pdrop=0.0,
                attn_pdrop=0.0,
            )
        )
    if spec.arch == "llama":
        return LlamaForCausalLM(
            LlamaConfig(
                vocab_size=len(tokenizer),
                hidden_size=spec.n_embd,
                intermediate_size=spec.n_embd * 8 // 3 // 16 * 16,
                num_hidden_layers=spec.n_layer,
                num_attention_heads=spec.n_head,
                num_key_value_heads=spec.n_head,
                max_position_embeddings=spec.n_positions,
                tie_word_embeddings=True,
                bos_token_id=eos,
                eos_token_id=eos,
                pad_token_id=eos,
            )
        )
    raise ValueError(f"unknown architecture {spec.arch!r}: use 'llama' or 'gpt2'")


def build_model(
    out_dir: Path,
    examples: Sequence[Example],
    spec: ModelSpec,
    *,
    extra_texts: Sequence[str] = (),
    progress: Progress | None = None,
) -> Path:
    """Train and save a model into ``out_dir`` (atomically: readers never see half a model)."""
    if not examples:
        raise ValueError("no training dialogues: add knowledge-base articles first")
    random.seed(spec.seed)
    torch.manual_seed(spec.seed)
    started = time.monotonic()
    texts = [e.prompt + " " + e.answer for e in examples] + list(extra_texts)
    tokenizer = train_tokenizer(texts, spec.vocab_size)
    model = new_model(spec, tokenizer)
    data = encode_examples(tokenizer, examples, spec.n_positions)
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate, weight_decay=0.01, betas=(0.9, 0.98))
    warmup = max(1, spec.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, spec.steps - warmup)))

    loss_value = train_loop(
        model,
        data,
        pad_id=int(tokenizer.eos_token_id),
        steps=spec.steps,
        batch_size=spec.batch_size,
        optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at),
        bf16=spec.bf16 and cpu_has_native_bf16(),
        progress=progress,
    )
    return save_model(
        out_dir, model=model, tokenizer=tokenizer, spec=spec, loss=loss_value, seconds=time.monotonic() - started
    )


def length_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Endless batches of indices: every index once per pass, batches of similar lengths, in
    random order."""
    while True:
        order = random.sample(range(len(lengths)), len(lengths))
        window = batch_size * BUCKET_WINDOW
        for start in range(0, len(order), window):
            chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
            batches = [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
            random.shuffle(batches)
            yield from batches


# Models whose logits are their LM head applied to the inner model's last hidden state, with
# nothing after it (no soft-capping or scaling of the logits, as Gemma 2 and Cohere have):
# ``answer_loss`` may apply the head itself, to the answer's positions only.
PLAIN_HEAD = frozenset({"gpt2", "llama", "mistral", "phi3", "qwen2", "qwen3"})


def answer_loss(model: Any, input_ids: torch.Tensor, attention: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The causal LM loss of ``labels`` (``-100``: no loss), the same as the model's own
    ``loss``, with the LM head run only where a label is: a dialogue's prompt and padding are
    most of its positions, and with a vocabulary of thousands the head and its softmax are a
    large part of a small model's step (``docs/benchmarks.md``, training time). Models outside
    ``PLAIN_HEAD`` get their own loss."""
    if model.config.model_type not in PLAIN_HEAD:
        return model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
    hidden = model.base_model(input_ids=input_ids, attention_mask=attention).last_hidden_state
    targets = labels[:, 1:]  # position t predicts token t + 1
    kept = targets != -100
    logits = model.get_output_embeddings()(hidden[:, :-1][kept])
    return torch.nn.functional.cross_entropy(logits.float(), targets[kept])


def train_loop(
    model: Any,
    data: list[tuple[list[int], list[int]]],
    *,
    pad_id: int,
    steps: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    scheduler: Any = None,
    bf16: bool = False,
    progress: Progress | None = None,
) -> float:
    """Padded batches of similar lengths; loss on the labelled (answer) tokens; returns the last loss."""
    model.train()
    batches = length_batches([len(ids) for ids, _ in data], batch_size)
    loss_value = float("nan")
    for step in range(steps):
        batch = [data[i] for i in next(batches)]
        # Widths rounded up to a multiple of WIDTH_STEP: a handful of shapes, whose kernels
        # oneDNN builds once, instead of one per length (and the memory each one keeps).
        width = -(-max(len(ids) for ids, _ in batch) // WIDTH_STEP) * WIDTH_STEP
        input_ids = torch.tensor([ids + [pad_id] * (width - len(ids)) for ids, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
        attention = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in batch])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = answer_loss(model, input_ids, attention, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = float(loss.item())
        if progress is not None:
            progress(step + 1, steps, loss_value)
    model.eval()
    return loss_value


def finetune_model(
    out_dir: Path,
    examples: Sequence[Example],
    base: str,
    *,
    steps: int,
    learning_rate: float = 5e-5,
    batch_size: int = 8,
    seed: int = 1234,
    progress: Progress | None = None,
) -> Path:
    """Fine-tune any local causal LM (``from_pretrained`` path) on the dialogues, loss on the
    answers only, and save it the same way (atomically, with the ready marker)."""
    if not examples:
        raise ValueError("no training dialogues: add knowledge-base articles first")
    random.seed(seed)
    torch.manual_seed(seed)
    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    window: Any = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", 1024)
    data = encode_examples(tokenizer, examples, min(int(window), 1024))
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.0)
    loss_value = train_loop(
        model,
        data,
        pad_id=int(tokenizer.pad_token_id),
        steps=steps,
        batch_size=batch_size,
        optimizer=optimizer,
        progress=progress,
    )
    spec = ModelSpec(steps=steps, batch_size=batch_size, learning_rate=learning_rate, seed=seed, bf16=False)
    return save_model(
        out_dir, model=model, tokenizer=tokenizer, spec=spec, loss=loss_value, seconds=time.monotonic() - started
    )


def save_model(
    out_dir: Path,
    *,
    model: Any,
    tokenizer: Any,
    spec: ModelSpec,
    loss: float,
    seconds: float,
) -> Path:
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    info = {
        "spec": asdict(spec),
        "final_loss": loss,
        "train_seconds": round(seconds, 1),
        "built_at": time.time(),
    }
    (tmp / READY_MARKER).write_text(json.dumps(info, indent=2))
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return out_dir
