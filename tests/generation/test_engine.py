"""The engine against plain ``model.generate`` on a real (tiny) GPT-2, and on a random Llama."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from django.conf import settings
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
from transformers.pytorch_utils import Conv1D

from generation import packing
from generation.answering.prompt import TRANSCRIPT_STOPS
from generation.engine import Engine, GenerationError, GrowableLayer, SamplingParams, fast_paths, kv_cache, sampling
from generation.engine import scheduler as scheduler_module
from generation.knowledge.embedder import SMALL_BATCH, Embedder, embedding_model_name
from generation.threads import intra_op_default

# CI runs this module a second time with GENERATION_FAST_PATHS=false: every engine here then
# decodes with the model's own forward, and the outputs must be the same.
FAST_PATHS = settings.GENERATION_FAST_PATHS

PROMPTS = [
    "Customer: Hello, how are you?\nAgent:",
    "Customer: hi\nAgent:",
    "Customer: Can I speak to a person? I have waited for a long time and nobody answered my emails.\nAgent:",
    "Customer: Thank you\nAgent:",
    "Customer: Who are you?\nAgent:",
]


@pytest.fixture(scope="module")
def engine(tiny_model_path: Path) -> Iterator[Engine]:
    engine = Engine.load(str(tiny_model_path), device="cpu", max_batch=8, fast_paths=FAST_PATHS)
    yield engine
    engine.close()


def reference(engine: Engine, ids: list[int], max_new_tokens: int) -> str:
    out = engine.model.generate(
        torch.tensor([ids]),
        attention_mask=torch.ones((1, len(ids)), dtype=torch.long),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=engine.pad_id,
    )
    text = str(engine.tokenizer.decode(out[0][len(ids) :], skip_special_tokens=True)).strip()
    # A reply never ends in the middle of a character: bytes that never became one are dropped.
    while text.endswith("\ufffd"):
        text = text[:-1].rstrip()
    return text


def test_batched_greedy_output_equals_unbatched_generate(engine: Engine) -> None:
    params = SamplingParams(max_new_tokens=24)
    encoded = [engine.encode(p) for p in PROMPTS]
    # Staggered arrivals: later requests join a batch that is already decoding.
    streams = []
    for ids in encoded:
        streams.append(engine.submit(ids, params))
        time.sleep(0.01)
    texts = []
    for stream in streams:
        pieces = list(stream)
        assert "".join(pieces) == stream.text
        texts.append(stream.text)
    assert texts == [reference(engine, ids, 24) for ids in encoded]
    assert all(s.stats.finish_reason in ("stop", "length") for s in streams)


def test_concurrent_requests_share_decode_steps(engine: Engine) -> None:
    params = SamplingParams(max_new_tokens=20)
    ids = engine.encode(PROMPTS[2])
    before = engine.steps
    streams = [engine.submit(ids, params) for _ in range(6)]
    for stream in streams:
        list(stream)
    tokens = sum(s.stats.completion_tokens for s in streams)
    # Six sequences of up to 20 tokens, decoded together: far fewer steps than tokens.
    assert engine.steps - before < tokens / 2


def test_stop_strings_end_the_reply_and_are_never_streamed(engine: Engine) -> None:
    ids = engine.encode(PROMPTS[0])
    free = engine.generate(ids, SamplingParams(max_new_tokens=40))
    assert free, "the tiny model should say something"
    word = free.split()[min(2, len(free.split()) - 1)]
    stream = engine.submit(ids, SamplingParams(max_new_tokens=40, stop=(word,)))
    text = "".join(stream)
    assert word not in text
    assert free.startswith(text.rstrip())
    assert stream.stats.finish_reason == "stop"


def test_max_new_tokens_is_honoured(engine: Engine) -> None:
    stream = engine.submit(engine.encode(PROMPTS[1]), SamplingParams(max_new_tokens=3))
    list(stream)
    assert stream.stats.completion_tokens <= 3


def test_cancel_keeps_partial_text_and_others_carry_on(engine: Engine) -> None:
    slow = SamplingParams(max_new_tokens=200, stop=())
    ids = engine.encode(PROMPTS[2])
    victim = engine.submit(ids, slow)
    other = engine.submit(ids, SamplingParams(max_new_tokens=30))
    first = next(iter(victim))
    victim.cancel()
    rest = "".join(victim)
    assert victim.text == first + rest
    assert victim.stats.finish_reason in ("cancelled", "stop", "length")
    list(other)
    assert other.stats.finish_reason in ("stop", "length")


def test_a_failing_sequence_fails_alone(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    real_pick = sampling.pick
    poison = SamplingParams(max_new_tokens=10, seed=666)

    def pick(seq, logits, greedy):  # type: ignore[no-untyped-def]
        if seq.stream.params is poison and len(seq.generated) == 2:
            return -5  # an id outside the vocabulary
        return real_pick(seq, logits, greedy)

    monkeypatch.setattr(scheduler_module, "pick", pick)
    ids = engine.encode(PROMPTS[0])
    bad = engine.submit(ids, poison)
    good = engine.submit(ids, SamplingParams(max_new_tokens=10))
    with pytest.raises(GenerationError):
        list(bad)
    list(good)
    assert good.stats.finish_reason in ("stop", "length") and good.stats.completion_tokens > 0


def test_sampling_is_reproducible_with_a_seed(engine: Engine) -> None:
    ids = engine.encode(PROMPTS[0])
    params = SamplingParams(max_new_tokens=16, temperature=1.0, top_p=0.9, seed=7)
    assert engine.generate(ids, params) == engine.generate(ids, params)


@pytest.fixture(scope="module")
def untrained_engine(tiny_model_path: Path) -> Iterator[Engine]:
    """Random weights: greedy decoding loops, which is what n-gram blocking is for."""
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_layer=1, n_embd=32, n_head=2)).eval()
    engine = Engine(model, tokenizer, name="untrained", fast_paths=FAST_PATHS)
    yield engine
    engine.close()


def test_no_repeat_ngram_blocks_repeats_in_generated_text(untrained_engine: Engine) -> None:
    engine = untrained_engine
    ids = engine.encode("Customer: there there there there there\nAgent:")
    stream = engine.submit(ids, SamplingParams(max_new_tokens=40, no_repeat_ngram_size=2))
    list(stream)
    unblocked = engine.submit(ids, SamplingParams(max_new_tokens=40))
    list(unblocked)

    def bigrams(tokens: list[int]) -> list[tuple[int, ...]]:
        return [tuple(tokens[i : i + 2]) for i in range(len(tokens) - 1)]

    assert len(bigrams(stream.token_ids)) == len(set(bigrams(stream.token_ids))) > 0
    assert len(bigrams(unblocked.token_ids)) > len(set(bigrams(unblocked.token_ids))), "should loop unblocked"


def test_transcript_stops_keep_the_bot_from_speaking_for_the_customer(engine: Engine) -> None:
    ids = engine.encode(PROMPTS[0])
    text = engine.generate(ids, SamplingParams(max_new_tokens=60, stop=TRANSCRIPT_STOPS))
    assert "Customer:" not in text


def test_many_threads_can_submit_at_once(engine: Engine) -> None:
    results: dict[int, str] = {}
    ids = engine.encode(PROMPTS[3])

    def run(i: int) -> None:
        results[i] = engine.generate(ids, SamplingParams(max_new_tokens=12))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 12 and len(set(results.values())) == 1


SYSTEM = (
    "You are the support assistant of a small outdoor shop. Answer briefly and politely, using only the "
    "knowledge below. If it does not answer the question, say that a member of the team will take over.\n"
)


def test_shared_prompt_prefix_is_computed_once_and_outputs_stay_exact(engine: Engine) -> None:
    """Prefix caching: prompts that start with the same instructions reuse their KV, and the
    replies are still exactly what ``generate`` gives for each whole prompt."""
    params = SamplingParams(max_new_tokens=16)
    encoded = [engine.encode(SYSTEM + p) for p in PROMPTS]
    assert len(engine.encode(SYSTEM)) > 16
    builds, hits = engine.prefix_builds, engine.prefix_hits
    first = [engine.submit(ids, params) for ids in encoded[:2]]
    for stream in first:
        list(stream)
    later = []
    for ids in encoded[2:]:  # later arrivals, one by one, reuse the cached prefix
        later.append(engine.submit(ids, params))
        time.sleep(0.01)
    for stream in later:
        list(stream)
    assert engine.prefix_builds == builds + 1
    assert engine.prefix_hits >= hits + len(encoded)
    assert [s.text for s in first + later] == [reference(engine, ids, 16) for ids in encoded]


def test_lean_gpt2_decode_is_used_for_the_responder_architecture(engine: Engine) -> None:
    # The equality tests above run through it; this guards against silently losing it.
    assert (engine.runner.fast_decode is not None) == FAST_PATHS


def test_a_lean_step_that_disagrees_with_the_model_is_refused_at_load(
    tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A fast path re-implements the model's forward: if it ever computes something else (a
    transformers change, a model it was not written for), the probe at load catches it and
    the engine decodes with the model's own forward, giving the same text as ``generate``."""
    real = fast_paths.lean_decoder

    def wrong(model: object) -> fast_paths.Decode | None:
        decode = real(model)
        assert decode is not None

        def off(*args: object) -> torch.Tensor:
            logits = decode(*args)  # type: ignore[arg-type]
            return logits + torch.linspace(0, 5, logits.shape[-1], device=logits.device)

        return off

    monkeypatch.setattr(fast_paths, "lean_decoder", wrong)
    engine = Engine.load(str(tiny_model_path), device="cpu", max_batch=4)
    try:
        assert engine.runner.fast_decode is None
        assert "differs from the model's forward" in caplog.text
        encoded = [engine.encode(p) for p in PROMPTS]
        streams = [engine.submit(ids, SamplingParams(max_new_tokens=24)) for ids in encoded]
        assert ["".join(s) for s in streams] == [reference(engine, ids, 24) for ids in encoded]
    finally:
        engine.close()


def test_the_lean_step_passes_its_probe_on_the_responder_architecture(tiny_model_path: Path) -> None:
    engine = Engine.load(str(tiny_model_path), device="cpu", max_batch=2, fast_paths=True)
    try:
        decode = fast_paths.gpt2_decoder(engine.model)
        assert decode is not None and engine.runner.fast_decode is not None
        gap = fast_paths.probe_gap(engine.model, decode, cache_kwarg=engine.runner.cache_kwarg)
        assert gap <= fast_paths.TOLERANCE[torch.float32]
    finally:
        engine.close()


def test_engine_steps_keep_all_intra_op_threads_beside_the_embedder(tiny_model_path: Path) -> None:
    """The embedder runs on one intra-op thread of its own; that must not lower the engine's
    (``torch.set_num_threads`` also changes what later threads start with)."""
    Embedder.get(embedding_model_name()).encode(["warm up the embedder's thread"])
    engine = Engine.load(str(tiny_model_path), device="cpu", max_batch=2, fast_paths=FAST_PATHS)
    seen: list[int] = []
    decode = engine.runner.decode

    def spy(*args: object) -> torch.Tensor:
        seen.append(torch.get_num_threads())
        return decode(*args)  # type: ignore[arg-type]

    engine.runner.decode = spy  # type: ignore[method-assign,assignment]
    try:
        engine.generate(engine.encode(PROMPTS[0]), SamplingParams(max_new_tokens=3))
    finally:
        engine.close()
    assert seen and set(seen) == {intra_op_default()}


def test_growable_cache_layer_matches_concatenation_across_growth_and_adoption() -> None:
    torch.manual_seed(0)
    keys, values = torch.randn(3, 2, 5, 4), torch.randn(3, 2, 5, 4)
    layer = GrowableLayer(keys, values)
    for step in range(80):  # well past the first buffer's spare room
        rows = 3 if step <= 40 else 2
        k, v = torch.randn(rows, 2, 1, 4), torch.randn(rows, 2, 1, 4)
        got_k, got_v = layer.update(k, v)
        keys, values = torch.cat([keys, k], dim=2), torch.cat([values, v], dim=2)
        assert torch.equal(got_k, keys) and torch.equal(got_v, values)
        assert layer.get_seq_length() == 6 + step
        if step == 40:  # an eviction hands the layer new tensors
            keys, values = keys[[0, 2]], values[[0, 2]]
            layer.adopt(keys, values)
        if step > 40:
            assert got_k.shape[0] == 2


# --- speculative decoding with prompt lookup ------------------------------------------------------
def random_engine(tiny_model_path: Path, *, lean: bool, draft_tokens: int = 4) -> Engine:
    """Random weights: greedy replies loop, so their n-grams recur and drafts get accepted."""
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    config = GPT2Config(vocab_size=len(tokenizer), n_layer=2, n_embd=32, n_head=2)
    config._attn_implementation = "eager" if lean else "sdpa"
    model = GPT2LMHeadModel(config).eval()
    return Engine(model, tokenizer, name="random", max_batch=8, draft_tokens=draft_tokens, fast_paths=FAST_PATHS)


LOOPING = [*PROMPTS, "Customer: there there there there there\nAgent:"]


@pytest.mark.parametrize("lean", [True, False], ids=["lean-step", "model-forward"])
def test_drafted_tokens_are_checked_and_the_text_is_exactly_generates(tiny_model_path: Path, lean: bool) -> None:
    engine = random_engine(tiny_model_path, lean=lean)
    try:
        assert (engine.runner.fast_decode is not None) == (lean and FAST_PATHS)
        encoded = [engine.encode(p) for p in LOOPING]
        streams = []
        for ids in encoded:  # staggered: rows join a batch that is already drafting
            streams.append(engine.submit(ids, SamplingParams(max_new_tokens=60)))
            time.sleep(0.005)
        texts = ["".join(s) for s in streams]
        assert texts == [reference(engine, ids, 60) for ids in encoded]
        tokens = sum(s.stats.completion_tokens for s in streams)
        assert engine.accepted > 0, "looping replies should copy their own earlier tokens"
        # Accepted drafts mean more than one token per row in some steps.
        assert engine.steps < tokens / len(streams) + len(streams)
    finally:
        engine.close()


def random_llama_engine(tiny_model_path: Path, *, lean: bool) -> Engine:
    """The offline responder's default architecture, random weights, with two query heads per
    key/value head (grouped-query attention, as larger Llama models have)."""
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
    )
    config._attn_implementation = "eager" if lean else "sdpa"
    model = LlamaForCausalLM(config).eval()
    return Engine(model, tokenizer, name="random-llama", max_batch=8, fast_paths=FAST_PATHS)


@pytest.mark.parametrize("lean", [True, False], ids=["lean-step", "model-forward"])
def test_a_llama_model_decodes_batched_and_drafted_exactly_as_generate(tiny_model_path: Path, lean: bool) -> None:
    engine = random_llama_engine(tiny_model_path, lean=lean)
    try:
        assert (engine.runner.fast_decode is not None) == (lean and FAST_PATHS)
        if engine.runner.fast_decode is not None:
            gap = fast_paths.probe_gap(engine.model, engine.runner.fast_decode, cache_kwarg=engine.runner.cache_kwarg)
            assert gap <= fast_paths.TOLERANCE[torch.float32]
        encoded = [engine.encode(p) for p in LOOPING]
        streams = []
        for ids in encoded:  # staggered: rows join a batch that is already drafting
            streams.append(engine.submit(ids, SamplingParams(max_new_tokens=60)))
            time.sleep(0.005)
        assert ["".join(s) for s in streams] == [reference(engine, ids, 60) for ids in encoded]
        assert engine.accepted > 0
    finally:
        engine.close()


def test_drafting_keeps_seeded_sampling_and_ngram_bans_exact(tiny_model_path: Path) -> None:
    """A sampled token that equals the draft is a draw from the same distribution, and bans see
    every accepted token: the same seed gives the same reply with drafting on or off."""
    plain = random_engine(tiny_model_path, lean=True, draft_tokens=0)
    drafting = random_engine(tiny_model_path, lean=True)
    try:
        # Random weights give nearly flat logits: low temperatures still sample, and loop.
        cases = [
            SamplingParams(max_new_tokens=50, temperature=0.02, seed=11),
            SamplingParams(max_new_tokens=50, temperature=0.05, top_p=0.9, seed=5),
            SamplingParams(max_new_tokens=50, no_repeat_ngram_size=3),
        ]
        for params in cases:
            accepted = drafting.accepted
            for prompt in LOOPING:
                ids = plain.encode(prompt)
                assert drafting.generate(ids, params) == plain.generate(ids, params), (params, prompt)
            if params.temperature:
                assert drafting.accepted > accepted, params
        assert plain.drafted == 0
    finally:
        plain.close()
        drafting.close()


def test_rejected_draft_positions_are_squeezed_out_and_the_text_stays_exact(
    tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kv_cache, "COMPACT_MIN_HOLES", 1)
    monkeypatch.setattr(kv_cache, "COMPACT_SHARE", 10_000)
    engine = random_engine(tiny_model_path, lean=True)
    try:
        encoded = [engine.encode(p) for p in LOOPING]
        streams = [engine.submit(ids, SamplingParams(max_new_tokens=120)) for ids in encoded]
        texts = ["".join(s) for s in streams]
        assert engine.compactions > 0
        assert engine.drafted > engine.accepted  # some drafts were rejected, leaving holes
        assert texts == [reference(engine, ids, 120) for ids in encoded]
    finally:
        engine.close()


def test_a_sequence_failing_inside_a_draft_check_fails_alone(
    tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = random_engine(tiny_model_path, lean=True)
    try:
        real_pick = sampling.pick
        poison = SamplingParams(max_new_tokens=60, seed=666)  # greedy: the seed only marks it

        def pick(seq, logits, greedy):  # type: ignore[no-untyped-def]
            if seq.stream.params is poison and len(seq.generated) == 20:
                return -5  # an id outside the vocabulary, once drafts are flowing
            return real_pick(seq, logits, greedy)

        monkeypatch.setattr(scheduler_module, "pick", pick)
        ids = engine.encode(LOOPING[-1])
        good_ids = [engine.encode(p) for p in LOOPING[:3]]
        bad = engine.submit(ids, poison)
        good = [engine.submit(g, SamplingParams(max_new_tokens=60)) for g in good_ids]
        with pytest.raises(GenerationError):
            list(bad)
        assert len(bad.token_ids) == 20
        assert ["".join(s) for s in good] == [reference(engine, g, 60) for g in good_ids]
        assert engine.accepted > 0
    finally:
        engine.close()


def test_drafts_that_keep_failing_stop_being_checked_and_the_text_stays_exact(tiny_model_path: Path) -> None:
    """A model that does not quote its prompt: its drafts are wrong, so checking them would
    only cost. The engine learns each row's acceptance and stops widening its steps."""
    engine = random_engine(tiny_model_path, lean=True)

    def wrong(seq):  # type: ignore[no-untyped-def]
        return [(seq.next_token + k) % 500 + 1 for k in range(1, 5)]

    engine.drafter.propose = wrong  # type: ignore[method-assign]
    try:
        encoded = [engine.encode(p) for p in PROMPTS[:4]]
        streams = [engine.submit(ids, SamplingParams(max_new_tokens=60)) for ids in encoded]
        texts = ["".join(s) for s in streams]
        assert texts == [reference(engine, ids, 60) for ids in encoded]
        assert engine.drafted > 0, "drafts are tried at first"
        # Four draft tokens a row every step without this; well under one a row with it.
        assert engine.drafted < engine.steps * len(streams) / 2
    finally:
        engine.close()


def test_calls_run_on_the_engine_thread_between_steps_and_leave_replies_alone(engine: Engine) -> None:
    params = SamplingParams(max_new_tokens=24)
    encoded = [engine.encode(p) for p in PROMPTS]
    streams = [engine.submit(ids, params) for ids in encoded]
    seen: list[tuple[bool, int]] = []
    done = threading.Event()

    def call() -> None:
        seen.append((threading.current_thread() is engine.thread, engine.active))
        done.set()

    def broken() -> None:
        raise RuntimeError("a failing call must not stop the engine")

    engine.call_soon(broken)
    engine.call_soon(call)
    assert done.wait(10)
    texts = []
    for stream in streams:
        list(stream)
        texts.append(stream.text)
    assert texts == [reference(engine, ids, 24) for ids in encoded]
    assert seen[0][0], "the call ran on another thread"


def test_a_closed_engine_takes_no_calls(tiny_model_path: Path) -> None:
    engine = Engine.load(str(tiny_model_path), device="cpu", max_batch=2, fast_paths=FAST_PATHS)
    engine.close()
    with pytest.raises(GenerationError):
        engine.call_soon(lambda: None)


def test_query_embeddings_on_the_engine_thread_match_and_outlive_the_engine(tiny_model_path: Path) -> None:
    """The worker hosts query embeddings on its engine's thread: the vectors are the same,
    the engine's steps keep all their intra-op threads, and when that engine closes the
    embedder goes back to its own thread instead of waiting for ever."""
    embedder = Embedder.get(embedding_model_name())
    texts = ["Hi", "How long does shipping to Canada take?", "Can I return shoes I have worn?"]
    own = embedder.encode(texts)
    embedder._recent.clear()  # the query is made anew, not one an earlier test kept
    engine = Engine.load(str(tiny_model_path), device="cpu", max_batch=2, fast_paths=FAST_PATHS)
    where: list[bool] = []
    threads: list[int] = []
    vectors = embedder._vectors
    decode = engine.runner.decode

    def spy_vectors(batch: list[str]) -> np.ndarray:
        where.append(threading.current_thread() is engine.thread)
        return vectors(batch)

    def spy_decode(*args: object) -> torch.Tensor:
        threads.append(torch.get_num_threads())
        return decode(*args)  # type: ignore[arg-type]

    embedder._vectors = spy_vectors  # type: ignore[method-assign,assignment]
    engine.runner.decode = spy_decode  # type: ignore[method-assign,assignment]
    try:
        embedder.run_on(engine.call_soon, engine.thread)
        hosted = embedder.encode(texts)
        single = embedder.encode_query(texts[1])
        engine.generate(engine.encode(PROMPTS[0]), SamplingParams(max_new_tokens=3))
        engine.close()
        after = embedder.encode(texts)
    finally:
        embedder.run_on(None, None)
        del embedder._vectors
    assert where[:2] == [True, True] and where[-1] is False
    assert np.allclose(hosted, own, atol=1e-5) and np.allclose(after, own, atol=1e-5)
    assert np.allclose(single, own[1], atol=1e-5)
    assert threads and set(threads) == {intra_op_default()}


def test_an_index_rebuild_never_runs_on_the_engine_thread(tiny_model_path: Path) -> None:
    """Large batches (an index rebuild after a knowledge-base edit) would stall every reply's
    steps for their whole length: they stay on the embedder's own thread."""
    embedder = Embedder.get(embedding_model_name())
    engine = Engine.load(str(tiny_model_path), device="cpu", max_batch=2, fast_paths=FAST_PATHS)
    where: list[bool] = []
    vectors = embedder._vectors

    def spy_vectors(batch: list[str]) -> np.ndarray:
        where.append(threading.current_thread() is engine.thread)
        return vectors(batch)

    embedder._vectors = spy_vectors  # type: ignore[method-assign,assignment]
    try:
        embedder.run_on(engine.call_soon, engine.thread)
        embedder.encode([f"article {i}" for i in range(SMALL_BATCH + 1)])
        embedder.encode(["a customer's question"])
    finally:
        embedder.run_on(None, None)
        del embedder._vectors
        engine.close()
    assert where == [False, True]


def test_a_constrained_reply_is_always_one_the_constraint_allows(engine: Engine) -> None:
    # The tiny model has never seen these sentences: left alone it writes something else. Held
    # to restating them, every reply of a batch is one of the allowed ones, drafts and all.
    from generation.answering.restate import Restatements  # noqa: PLC0415 - the answering side's constraint

    units = ["Refunds reach your card within 5 business days.", "Sale items cannot be returned."]
    allowed = Restatements(units, "Can I return sale items?", first=1, ordinary=lambda _: True)
    prompt = engine.encode(f"Knowledge: Returns: {' '.join(units)}\nCustomer: Can I return sale items?\nAgent:")
    streams = [engine.submit(prompt, SamplingParams(max_new_tokens=80, constraint=allowed)) for _ in range(3)]
    free = engine.generate(prompt, SamplingParams(max_new_tokens=20))
    for stream in streams:
        text = "".join(stream).strip()
        assert allowed.complete(text), text
        assert text.startswith(("Sale items cannot be returned.", "No, sale items cannot be returned."))
    assert not allowed.complete(free)


def _bf16_packing_or_skip() -> None:
    try:
        packing.PackedLinear(torch.nn.Linear(8, 8), torch.bfloat16)(torch.randn(2, 8, dtype=torch.bfloat16))
    except (RuntimeError, AttributeError, NotImplementedError):
        pytest.skip("this PyTorch build has no oneDNN bf16 linear")
    if not packing.available():
        pytest.skip("this PyTorch build has no oneDNN linear")


@pytest.mark.parametrize("kind", ["linear", "conv1d"])
def test_a_row_adaptive_layer_computes_few_rows_in_fp32_and_many_in_bf16(kind: str) -> None:
    _bf16_packing_or_skip()
    torch.manual_seed(0)
    layer: torch.nn.Module = torch.nn.Linear(32, 48) if kind == "linear" else Conv1D(48, 32)
    adaptive = packing.RowAdaptiveLinear(layer, cutoff=4)
    with torch.inference_mode():
        few = torch.randn(1, 3, 32)
        assert torch.equal(adaptive(few), layer(few))
        many = torch.randn(2, 3, 32)  # 6 rows: past the cutoff
        out = adaptive(many)
        assert out.dtype == torch.float32 and out.shape == (2, 3, 48)
        assert torch.equal(out, packing.PackedLinear(packing.as_linear(layer), torch.bfloat16)(many))
        assert not torch.equal(out, layer(many))  # computed in bf16 ...
        same = torch.nn.functional.cosine_similarity(out.reshape(6, -1), layer(many).reshape(6, -1))
        assert (same > 0.999).all()  # ... to bf16's precision
    assert packing.RowAdaptiveLinear(layer, cutoff=1).layer is None  # no fp32 copy kept


def test_adapted_layers_keep_the_models_logits_or_are_all_put_back(monkeypatch: pytest.MonkeyPatch) -> None:
    _bf16_packing_or_skip()
    monkeypatch.setattr(packing, "bf16_cutoff", lambda layer: 4)  # not timed: the same on every CPU
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=200, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4
    )
    model = LlamaForCausalLM(config).eval()
    ids = torch.arange(20).unsqueeze(0)

    def logits() -> torch.Tensor:
        return model(input_ids=ids, use_cache=False).logits[0]

    with torch.inference_mode():
        before = logits()
        one_row = model(input_ids=ids[:, :1], use_cache=False).logits[0, -1]
    cutoffs = packing.adapt_linears(model, logits)
    assert cutoffs == {(32, 32): 4, (32, 64): 4, (64, 32): 4, (32, 200): 4}
    assert isinstance(model.lm_head, packing.RowAdaptiveLinear)
    with torch.inference_mode():
        after = logits()
        assert torch.equal(model(input_ids=ids[:, :1], use_cache=False).logits[0, -1], one_row)  # fp32 below 4
    assert not torch.equal(after, before)
    assert (torch.nn.functional.cosine_similarity(before, after) > packing.BF16_OUTPUT_COSINE).all()

    fresh = LlamaForCausalLM(config).eval()
    head = fresh.lm_head
    outputs = iter([torch.ones(3, 4), -torch.ones(3, 4)])  # a probe whose output "changes"
    assert packing.adapt_linears(fresh, lambda: next(outputs)) is None
    assert fresh.lm_head is head
    assert not any(isinstance(m, packing.RowAdaptiveLinear) for m in fresh.modules())

    monkeypatch.setattr(packing, "bf16_cutoff", lambda layer: packing.NEVER)  # bf16 nowhere faster
    slow = LlamaForCausalLM(config).eval()
    assert set(packing.adapt_linears(slow, lambda: torch.zeros(2, 2)).values()) == {packing.NEVER}  # type: ignore[union-attr]
    assert not any(isinstance(m, packing.RowAdaptiveLinear) for m in slow.modules())  # all fp32
