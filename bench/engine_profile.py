"""Where an engine step's time goes, on any device: the engine's own phases timed (the device
synchronised around each), against one plain forward step of the model with transformers'
own cache; with ``--operators``, torch's profiler's top operators for a few steps, and with
``--python-profile``, cProfile's view of the plain steps.

    python bench/engine_profile.py [--device cuda] [--model PATH | --gpt2-small] [--rows 1 16]

Printed per batch size: milliseconds per engine step that ran the model, in admitting,
drafting, the forward (``ModelRunner.decode``), picking tokens and streaming text
(``Scheduler.postprocess``), and the rest; and the plain forward step of the same model and
batch, the floor of the forward.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from transformers import AutoTokenizer, DynamicCache  # noqa: E402

from bench.generation import demo_prompts, gpt2_small  # noqa: E402
from generation.engine import Engine, SamplingParams  # noqa: E402
from generation.engine.kv_cache import cache_kwarg, output_cache  # noqa: E402
from generation.engine.loading import steady_attention  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_phases(engine: Engine, device: torch.device) -> dict[str, list[float]]:
    """Wrap the engine's phases so that each call's time (device work included) is recorded."""
    spent: dict[str, list[float]] = collections.defaultdict(list)

    def wrap(owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            sync(device)
            began = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                sync(device)
                spent[label].append(time.perf_counter() - began)

        setattr(owner, name, timed)

    wrap(engine, "_decode", "step")
    wrap(engine.scheduler, "admit", "admit")
    wrap(engine.drafter, "plan", "drafts")
    wrap(engine.runner, "decode", "forward")
    wrap(engine.scheduler, "postprocess", "pick+stream")
    return spent


def plain_step_ms(model: Any, rows: int, device: torch.device, kwarg: str, steps: int = 20) -> float:
    """One decode step of ``rows`` sequences through the model's own forward and cache."""
    ids = torch.randint(1, 200, (rows, 64), device=device)
    with torch.inference_mode():
        out = model(input_ids=ids, use_cache=True, **{kwarg: DynamicCache()})
        cache, token = output_cache(out), ids[:, -1:]
        times = []
        for _ in range(steps):
            sync(device)
            began = time.perf_counter()
            out = model(input_ids=token, use_cache=True, **{kwarg: cache})
            token = out.logits[:, -1:].argmax(-1)
            sync(device)
            times.append(time.perf_counter() - began)
            cache = output_cache(out)
    return statistics.median(times[2:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(ROOT / "var/models/responder"))
    parser.add_argument("--gpt2-small", action="store_true", help="a 124M GPT-2 with random weights instead")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--draft-tokens", type=int, default=4)
    parser.add_argument("--threads", type=int, help="torch's intra-op threads for this process and the engine's")
    parser.add_argument(
        "--cudnn-attention", action="store_true", help="keep cuDNN among the attention kernels (torch's default)"
    )
    parser.add_argument("--operators", action="store_true", help="torch's profiler's top operators for a few steps")
    parser.add_argument("--python-profile", action="store_true", help="cProfile the model's own forward steps")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if not args.cudnn_attention:
        steady_attention(device)  # as the worker's engine loads
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    if args.gpt2_small:
        torch.manual_seed(0)
        model = gpt2_small(len(tokenizer), device)
        model = model.to(torch.bfloat16 if device.type == "cuda" else torch.float32).to(device).eval()  # type: ignore[arg-type]
        name = "GPT-2 small (random)"
    else:
        loaded = Engine.load(args.model, device=str(device))
        model, name = loaded.model, "responder"
        loaded.close()
    print(f"{name} on {device}, {next(model.parameters()).dtype}, draft tokens {args.draft_tokens}")
    kwarg = cache_kwarg(model)
    if device.type == "cuda":
        began = time.perf_counter()
        for _ in range(1000):
            torch.cuda.synchronize()
        print(f"an idle device synchronise: {(time.perf_counter() - began) * 1000:.3f} us")
    for rows in args.rows:
        alone = ", ".join(f"{plain_step_ms(model, rows, device, kwarg):.2f}" for _ in range(3))
        print(f"rows {rows}: the model's own forward step, no engine, three times: {alone} ms")
    for rows in args.rows:
        requests = demo_prompts(tokenizer, rows)
        engine = Engine(model, tokenizer, name="profile", max_batch=rows, draft_tokens=args.draft_tokens)
        if args.threads:
            engine.call_soon(lambda: torch.set_num_threads(args.threads))
        try:
            engine.generate(requests[0], SamplingParams(max_new_tokens=4))  # warm up
            spent = timed_phases(engine, device)
            params = SamplingParams(max_new_tokens=args.max_new_tokens, timeout_s=600)
            streams = [engine.submit(ids, params) for ids in requests]
            for stream in streams:
                for _ in stream:
                    pass
            # Per step that ran the model: a step with no sequence left returns before it.
            steps = len(spent["forward"])
            parts = {k: 1000 * sum(v) / max(1, steps) for k, v in spent.items()}
            rest = parts["step"] - parts.get("drafts", 0) - parts.get("forward", 0) - parts.get("pick+stream", 0)
            print(
                f"rows {rows}: {steps} steps, per step ms: all {parts['step']:.2f} = drafts {parts.get('drafts', 0):.2f}"
                f" + forward {parts.get('forward', 0):.2f} + pick+stream {parts.get('pick+stream', 0):.2f}"
                f" + rest {rest:.2f}; admit {parts.get('admit', 0):.2f}; the model's own forward step:"
                f" {plain_step_ms(model, rows, device, kwarg):.2f}"
            )
            steps_alive = ", ".join(f"{plain_step_ms(model, rows, device, kwarg):.2f}" for _ in range(3))
            print(f"rows {rows}: the model's own forward step beside the idle engine, three times: {steps_alive} ms")
            if args.python_profile:
                profiler = cProfile.Profile()
                profiler.runcall(plain_step_ms, model, rows, device, kwarg)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(14)
            if args.operators:
                activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
                with torch.profiler.profile(activities=activities) as prof:
                    streams = [engine.submit(ids, SamplingParams(max_new_tokens=8)) for ids in requests]
                    for stream in streams:
                        for _ in stream:
                            pass
                print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18, max_name_column_width=48))
        finally:
            engine.close()


if __name__ == "__main__":
    main()
