"""The engine's continuous batching against plain sequential ``model.generate``.

    .venv/bin/python bench/generation.py [--model PATH] [--concurrency 1 4 16 64]

N requests arrive at once. The baseline serves them one after another with
``model.generate`` (greedy); the engine decodes them together. Printed per concurrency:
aggregate tokens/s, time to first token p50/p95, time per output token, the speed-up over the
baseline in the same run, and the share of this machine's measured matmul ceiling reached.
Beside them: the engine without speculative decoding (``draft_tokens=0``) and the share of
draft tokens accepted; ``same``, the share of requests whose engine output is token for token
the baseline's greedy output; ``model.generate`` with transformers' own prompt lookup
(``prompt_lookup_num_tokens``, one request at a time); and, for the responder, ``plain``: the
model exactly as ``from_pretrained`` loads it. ``--wrong-drafts`` adds the engine with every
draft wrong: the cost of speculation for a model that never quotes its prompt.
Models: the offline responder (``--model``, default DATA_DIR/models/responder), a
GPT-2-small-sized model (124M parameters, random weights) with ``--gpt2-small``, and a model of a
current architecture shaped like Qwen2.5-0.5B (grouped-query attention, rotary positions, SwiGLU,
a 151,936-token vocabulary; 494M parameters, random weights) with ``--qwen2-half-b``. On a GPU
each runs in bf16; ``--no-lookup`` leaves out the prompt-lookup baseline to save time there.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    Qwen2Config,
    Qwen2ForCausalLM,
)
from transformers.generation.streamers import BaseStreamer  # noqa: E402

from generation.answering import prompt as prompts  # noqa: E402
from generation.engine import Engine, SamplingParams  # noqa: E402
from generation.engine.loading import steady_attention  # noqa: E402
from generation.threads import cpu_has_native_bf16, on_short_lived_thread  # noqa: E402


def matmul_ceiling(dtype: torch.dtype, n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - started)


def demo_prompts(tokenizer: Any, count: int) -> list[list[int]]:
    articles = json.loads((ROOT / "generation/data/demo_kb.json").read_text())
    out = []
    for i in range(count):
        article = articles[i % len(articles)]
        question = article["questions"][i % len(article["questions"])]
        text = prompts.transcript_text(
            [prompts.Snippet(article["title"], article["body"])], [prompts.Turn("customer", question)]
        )
        out.append(list(tokenizer(text, add_special_tokens=False)["input_ids"]))
    return out


class FirstToken(BaseStreamer):
    def __init__(self) -> None:
        self.calls = 0
        self.at: float | None = None

    def put(self, value: Any) -> None:
        self.calls += 1
        if self.calls == 2 and self.at is None:  # the first call carries the prompt
            self.at = time.perf_counter()

    def end(self) -> None:
        pass


def baseline(model: Any, tokenizer: Any, requests: list[list[int]], max_new: int, lookup: int = 0) -> dict[str, Any]:
    started = time.perf_counter()
    ttft, tpot, tokens = [], [], 0
    outputs: list[list[int]] = []
    with torch.inference_mode():
        for ids in requests:
            streamer = FirstToken()
            begin = time.perf_counter()
            out = model.generate(
                torch.tensor([ids], device=model.device),
                attention_mask=torch.ones((1, len(ids)), dtype=torch.long, device=model.device),
                max_new_tokens=max_new,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or 0,
                streamer=streamer,
                **({"prompt_lookup_num_tokens": lookup} if lookup else {}),
            )
            end = time.perf_counter()
            n = out.shape[1] - len(ids)
            outputs.append([t for t in out[0, len(ids) :].tolist() if t != tokenizer.eos_token_id])  # as the engine's
            tokens += n
            first = streamer.at or end
            ttft.append(first - started)  # every request arrived at `started`
            tpot.append((end - first) / max(1, n - 1))
            _ = begin
    wall = time.perf_counter() - started
    return summarize(tokens, wall, ttft, tpot) | {"outputs": outputs}


def engine_run(engine: Engine, requests: list[list[int]], max_new: int) -> dict[str, Any]:
    params = SamplingParams(max_new_tokens=max_new, timeout_s=600)
    drafted, accepted = engine.drafted, engine.accepted
    started = time.perf_counter()
    streams = [engine.submit(ids, params) for ids in requests]
    for stream in streams:
        for _ in stream:
            pass
    wall = time.perf_counter() - started
    ttft, tpot, tokens = [], [], 0
    for s in streams:
        st = s.stats
        n = st.completion_tokens
        tokens += n
        first = st.first_token_at or st.finished_at or 0.0
        ttft.append(first - st.submitted_at)
        tpot.append(((st.finished_at or first) - first) / max(1, n - 1))
    result: dict[str, Any] = summarize(tokens, wall, ttft, tpot)
    result["outputs"] = [s.token_ids for s in streams]
    result["accepted"] = (engine.accepted - accepted) / max(1, engine.drafted - drafted)
    return result


def wrong_drafts(engine: Engine) -> None:
    """Make every draft wrong: what a model that never quotes its prompt would cost."""

    def draft(seq: Any) -> list[int]:
        return [(seq.next_token + k) % 500 + 1 for k in range(1, engine.draft_tokens + 1)]

    engine.drafter.propose = draft  # type: ignore[method-assign]


def engine_side(
    model: Any, tokenizer: Any, requests: list[list[int]], max_new: int, *, draft_tokens: int, wrong: bool = False
) -> dict[str, Any]:
    """A fresh engine, warmed up, serving ``requests`` at once (every draft wrong if ``wrong``)."""
    engine = Engine(model, tokenizer, name="bench", max_batch=len(requests), draft_tokens=draft_tokens)
    if wrong:
        wrong_drafts(engine)
    try:
        engine.generate(requests[0], SamplingParams(max_new_tokens=4))  # warm up
        return engine_run(engine, requests, max_new)
    finally:
        engine.close()


def summarize(tokens: int, wall: float, ttft: list[float], tpot: list[float]) -> dict[str, float]:
    ordered = sorted(ttft)
    return {
        "tokens": tokens,
        "tok_s": tokens / wall,
        "ttft_p50": statistics.median(ttft) * 1000,
        "ttft_p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000,
        "tpot": statistics.median(tpot) * 1000,
    }


def run_model(
    name: str,
    model: Any,
    tokenizer: Any,
    *,
    levels: list[int],
    max_new: int,
    ceiling: float,
    draft_tokens: int,
    plain: Any = None,
    adversarial: bool = False,
    lookup: bool = True,
) -> None:
    """``plain``: the same weights as ``from_pretrained`` loads them by default (SDPA attention,
    GPT-2's own GELU), for a second baseline; the first uses the engine's loading options."""
    model.eval()
    embeddings = {id(model.get_input_embeddings().weight)}
    if (positions := getattr(getattr(model, "transformer", None), "wpe", None)) is not None:
        embeddings.add(id(positions.weight))
    params = sum(p.numel() for p in model.parameters() if id(p) not in embeddings)
    requests_all = demo_prompts(tokenizer, max(levels))
    dtype = next(model.parameters()).dtype
    print(f"\n{name}: {params / 1e6:.1f}M non-embedding parameters, {dtype}, {max_new} new tokens per request")
    header = (
        "N",
        "base tok/s",
        "engine tok/s",
        "x base",
        "TTFT p50 base/eng ms",
        "TTFT p95 base/eng",
        "TPOT eng ms",
        "% ceiling",
        "no-draft tok/s",
        "x base",
        "accepted",
        "same",
        "lookup tok/s",
        "plain tok/s",
        "x plain",
    )
    widths = (4, 11, 13, 7, 22, 20, 12, 10, 15, 7, 9, 6, 13, 12, 8)
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    for n in levels:
        requests = requests_all[:n]
        # Each side runs alone, on a thread that ends with it: a live thread that has run
        # PyTorch ops keeps an OpenMP team, which slows the other side (generation/threads.py).
        base = on_short_lived_thread(baseline, model, tokenizer, requests, max_new)
        eng = engine_side(model, tokenizer, requests, max_new, draft_tokens=draft_tokens)
        undrafted = engine_side(model, tokenizer, requests, max_new, draft_tokens=0)
        looked = (
            on_short_lived_thread(baseline, model, tokenizer, requests, max_new, draft_tokens or 4) if lookup else None
        )
        flops = eng["tok_s"] * 2 * params
        same = sum(a == b for a, b in zip(base["outputs"], eng["outputs"], strict=True)) / n
        plain_cols = ""
        if plain is not None:
            slow = on_short_lived_thread(baseline, plain, tokenizer, requests, max_new)
            plain_cols = f" {slow['tok_s']:>12.0f} {eng['tok_s'] / slow['tok_s']:>8.2f}"
        print(
            f"{n:>4} {base['tok_s']:>11.0f} {eng['tok_s']:>13.0f} {eng['tok_s'] / base['tok_s']:>7.2f} "
            f"{base['ttft_p50']:>10.1f}/{eng['ttft_p50']:<11.1f} {base['ttft_p95']:>9.1f}/{eng['ttft_p95']:<10.1f} "
            f"{eng['tpot']:>12.1f} {100 * flops / ceiling:>9.1f}% "
            f"{undrafted['tok_s']:>15.0f} {undrafted['tok_s'] / base['tok_s']:>7.2f} {100 * eng['accepted']:>8.0f}% {100 * same:>5.0f}% "
            f"{looked['tok_s'] if looked else float('nan'):>13.0f}{plain_cols}"
        )
        if adversarial and draft_tokens:
            wrong = engine_side(model, tokenizer, requests, max_new, draft_tokens=draft_tokens, wrong=True)
            print(
                f"     always-wrong drafts: {wrong['tok_s']:.0f} tok/s ({wrong['tok_s'] / base['tok_s']:.2f}x base, "
                f"{wrong['tok_s'] / undrafted['tok_s']:.2f}x no-draft), {100 * wrong['accepted']:.0f}% accepted"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(Path(os.environ.get("DATA_DIR", ROOT / "var")) / "models" / "responder"))
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--draft-tokens", type=int, default=4, help="the engine's speculative draft length")
    parser.add_argument(
        "--wrong-drafts", action="store_true", help="also run the engine with every draft wrong (the worst case)"
    )
    parser.add_argument("--gpt2-small", action="store_true", help="also run a 124M GPT-2 with random weights")
    parser.add_argument(
        "--qwen2-half-b", action="store_true", help="also run a 494M model shaped like Qwen2.5-0.5B, random weights"
    )
    parser.add_argument(
        "--random-concurrency",
        "--gpt2-concurrency",
        type=int,
        nargs="+",
        default=[1, 4, 16],
        help="the concurrency levels of the random-weight models",
    )
    parser.add_argument("--no-lookup", action="store_true", help="leave out the prompt-lookup baseline")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "float32", "bfloat16"],
        help="the responder's dtype, as GENERATION_DTYPE (auto: as the worker loads it)",
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    steady_attention(device)  # as the worker's engine loads
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, dtype {dtype}")
    if device.type == "cpu":
        ceiling = on_short_lived_thread(matmul_ceiling, torch.float32)
        print(f"matmul ceiling (2048^2 fp32): {ceiling / 1e9:.0f} GFLOP/s")
    else:
        ceiling = 790e12
        print(f"matmul ceiling: taken as 790 TFLOP/s (H100/H200 bf16 dense); {torch.cuda.get_device_name(device)}")
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    if Path(args.model).exists():
        loaded = Engine.load(args.model, device=str(device), dtype=args.dtype)  # the engine's own loading
        model = loaded.model
        loaded.close()
        plain: Any = on_short_lived_thread(AutoModelForCausalLM.from_pretrained, args.model)
        plain.to(device).eval()
        run_model(
            "offline responder",
            model,
            tokenizer,
            levels=args.concurrency,
            max_new=args.max_new_tokens,
            ceiling=ceiling,
            draft_tokens=args.draft_tokens,
            plain=plain,
            adversarial=args.wrong_drafts,
            lookup=not args.no_lookup,
        )
    for wanted, name, build in (
        (args.gpt2_small, "GPT-2 small (124M, random weights)", gpt2_small),
        (args.qwen2_half_b, "Qwen2.5-0.5B-shaped (494M, random weights)", qwen2_half_b),
    ):
        if not wanted:
            continue
        torch.manual_seed(0)
        big = build(len(tokenizer), device)
        if device.type == "cpu" and cpu_has_native_bf16():
            big = big.to(torch.bfloat16)  # type: ignore[arg-type]  # the engine's CPU policy
        big = big.to(dtype if device.type == "cuda" else big.dtype).to(device)  # type: ignore[arg-type]
        run_model(
            name,
            big,
            tokenizer,
            levels=args.random_concurrency,
            max_new=min(32, args.max_new_tokens),
            ceiling=ceiling,
            draft_tokens=args.draft_tokens,
            lookup=not args.no_lookup,
        )
        del big
        if device.type == "cuda":
            torch.cuda.empty_cache()


def gpt2_small(vocab: int, device: torch.device) -> Any:
    config = GPT2Config(vocab_size=max(vocab, 50257), activation_function="gelu_pytorch_tanh")
    if device.type == "cpu":
        config._attn_implementation = "eager"  # the lean GPT-2 step's condition
    return GPT2LMHeadModel(config)


def qwen2_half_b(vocab: int, device: torch.device) -> Any:
    """Qwen2.5-0.5B's shape: 24 layers of width 896, 14 query heads sharing 2 key/value heads."""
    config = Qwen2Config(
        vocab_size=max(vocab, 151936),
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
        tie_word_embeddings=True,
    )
    if device.type == "cpu":
        config._attn_implementation = "eager"
    return Qwen2ForCausalLM(config)


if __name__ == "__main__":
    main()
