from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command
from sentence_transformers import SentenceTransformer

from generation import model_store, packing
from generation.encoders import LeanBert
from generation.engine import Engine, SamplingParams
from generation.knowledge import articles, formats
from generation.knowledge import embedder as embedding
from generation.knowledge.embedder import Embedder, embedding_model_name
from generation.models import Article

pytestmark = pytest.mark.django_db

ARTICLES: list[dict[str, object]] = [
    {"title": "Shipping", "body": "Ships in 2 days.", "tags": ["shipping"]},
    {"title": "Returns", "body": "Return within 30 days.", "tags": "returns, refunds"},
]


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_json_import_creates_then_updates_by_title(tmp_path: Path) -> None:
    path = write(tmp_path, "kb.json", json.dumps(ARTICLES))
    call_command("import_kb", str(path))
    assert Article.objects.get(title="Returns").tags == ["returns", "refunds"]
    changed = [{**ARTICLES[0], "body": "Ships in 1 day."}, ARTICLES[1]]
    result = articles.kb_import(formats.parse_kb_path(write(tmp_path, "kb2.json", json.dumps(changed))))
    assert (result.created, result.updated, result.unchanged, result.removed) == (0, 1, 1, 0)
    assert Article.objects.get(title="Shipping").body == "Ships in 1 day."


def test_replace_removes_articles_the_file_lacks(tmp_path: Path) -> None:
    articles.kb_import(formats.parse_kb_path(write(tmp_path, "kb.json", json.dumps(ARTICLES))))
    result = articles.kb_import(
        formats.parse_kb_path(write(tmp_path, "one.json", json.dumps(ARTICLES[:1]))), replace=True
    )
    assert result.removed == 1
    assert list(Article.objects.values_list("title", flat=True)) == ["Shipping"]


def test_csv_and_markdown_are_imported(tmp_path: Path) -> None:
    csv_path = write(
        tmp_path,
        "kb.csv",
        'title,body,tags,questions\nGift cards,"Never expire.",gifts;cards,Do they expire?|Validity?\n',
    )
    md_path = write(
        tmp_path,
        "kb.md",
        "# Store hours\nTags: stores, hours\nQ: When are you open?\nOpen 10 am to 8 pm.\n\nClosed on holidays.\n# Repairs\nFrom $15.\n",
    )
    csv_items = formats.parse_kb_path(csv_path)
    md_items = formats.parse_kb_path(md_path)
    assert csv_items[0].tags == ["gifts", "cards"] and csv_items[0].questions == [
        "Do they expire?",
        "Validity?",
    ]
    assert [i.title for i in md_items] == ["Store hours", "Repairs"]
    assert md_items[0].body == "Open 10 am to 8 pm.\n\nClosed on holidays."
    assert md_items[0].tags == ["stores", "hours"] and md_items[0].questions == ["When are you open?"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("kb.json", '[{"title": "A", "body": "x"},\n {"title": "B" "body": "y"}]', "line 2"),
        ("kb.json", json.dumps([{"title": "A", "body": "x"}, {"body": "y"}]), "item 2"),
        (
            "kb.json",
            json.dumps([{"title": "A", "body": "x"}, {"title": "a", "body": "y"}]),
            "item 2: the title 'a' is also used at item 1",
        ),
        ("kb.json", json.dumps([{"title": "A", "body": ""}]), "empty body"),
        ("kb.json", json.dumps([{"title": "A", "body": "x", "colour": "red"}]), "unknown field"),
        ("kb.json", "[]", "no articles"),
        ("kb.json", "", "invalid JSON"),
        ("kb.csv", "name,text\nA,b\n", "lacks the column(s) body, title"),
        ("kb.csv", "title,body\nA,ok\n,missing title\n", "line 3: the title is empty"),
        ("kb.md", "intro text\n# A\nbody\n", "line 1: text before"),
        ("kb.docx", "whatever", "unknown format"),
        ("kb.json", json.dumps([{"title": "A", "body": "x", "url": "javascript:alert(1)"}]), "http(s) address"),
    ],
)
def test_bad_files_name_the_problem_and_change_nothing(tmp_path: Path, name: str, content: str, message: str) -> None:
    Article.objects.create(title="Existing", body="keep me")
    path = write(tmp_path, name, content)
    with pytest.raises(CommandError) as info:
        call_command("import_kb", str(path), "--replace")
    assert message in str(info.value)
    assert list(Article.objects.values_list("title", flat=True)) == ["Existing"]


def test_huge_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "kb.json"
    path.write_bytes(b"[" + b" " * (formats.MAX_FILE_BYTES + 1) + b"]")
    with pytest.raises(formats.KBFormatError, match="more than"):
        formats.parse_kb_path(path)


def test_export_round_trips_through_import(tmp_path: Path) -> None:
    articles.kb_import(formats.parse_kb_path(write(tmp_path, "kb.json", json.dumps(ARTICLES))))
    out = tmp_path / "export.json"
    call_command("export_kb", str(out))
    Article.objects.all().delete()
    call_command("import_kb", str(out))
    assert articles.kb_export() == json.loads(out.read_text())


def test_demo_knowledge_base_imports_cleanly() -> None:
    items = formats.parse_kb_path(Path(__file__).resolve().parents[2] / "generation/data/demo_kb.json")
    assert len(items) >= 30 and all(i.questions for i in items)


def test_training_on_an_empty_base_learns_the_skill_from_the_corpus_alone(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("train_responder", "--quick", "--steps", "2", "--out", str(tmp_path / "r"), stdout=out)
    assert model_store.is_ready(tmp_path / "r")
    assert "0 from 0 articles" in out.getvalue()


def test_base_fine_tunes_a_local_model_and_workers_can_load_it(tmp_path: Path, tiny_model_path: Path) -> None:
    articles.kb_import(formats.parse_kb_path(write(tmp_path, "kb.json", json.dumps(ARTICLES))))
    out = tmp_path / "tuned"
    call_command("train_responder", "--base", str(tiny_model_path), "--steps", "3", "--out", str(out))
    assert model_store.is_ready(out)
    engine = Engine.load(str(out), device="cpu")
    try:
        assert isinstance(engine.generate(engine.encode("Customer: hi\nAgent:"), SamplingParams(max_new_tokens=5)), str)
    finally:
        engine.close()
    with pytest.raises(CommandError, match="not a loadable model"):
        call_command("train_responder", "--base", str(tmp_path / "nothing-here"), "--steps", "1", "--out", str(out))


def test_the_prepacked_embedder_gives_the_vectors_of_the_plain_model() -> None:
    name = embedding_model_name()
    embedder = Embedder.get(name)
    texts = ["Hi", "How long does shipping to Canada take?", "My parcel arrived damaged, what can I do?"] * 3
    plain = SentenceTransformer(name, device="cpu").encode(texts, normalize_embeddings=True)
    if packing.available():
        assert embedder.packed > 0
    vectors = embedder.encode(texts)
    lean_dtype = embedder.lean.dtype if embedder.lean is not None else torch.float32
    if torch.bfloat16 in (embedder.packed_dtype, lean_dtype):  # bf16 where the CPU has it
        assert (np.sum(vectors * plain, axis=1) > packing.BF16_OUTPUT_COSINE).all()
    else:
        assert (np.sum(vectors * plain, axis=1) > packing.SAME_OUTPUT_COSINE).all()


def test_the_lean_forward_embeds_padded_batches_as_the_model_does_and_refuses_other_models() -> None:
    model = SentenceTransformer(embedding_model_name(), device="cpu")
    texts = ["Hi", "How long does shipping to Canada take?", "My parcel arrived damaged, what can I do?"]
    plain = model.encode(texts, normalize_embeddings=True)
    lean = LeanBert.build(model)
    if not packing.available():
        assert lean is None
        pytest.skip("this PyTorch build has no oneDNN linear")
    assert lean is not None
    with torch.inference_mode():
        together = lean(texts)  # padded to the longest
        alone = np.vstack([lean([text]) for text in texts])
    assert (np.sum(together * plain, axis=1) > packing.SAME_OUTPUT_COSINE).all()
    assert (np.sum(alone * plain, axis=1) > packing.SAME_OUTPUT_COSINE).all()

    pooling: Any = model[1]
    pooling.pooling_mode = "max"  # not what the lean forward computes
    assert LeanBert.build(model) is None


def test_packing_is_undone_when_it_would_change_the_output() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    x = torch.randn(3, 8)
    expected = model(x).detach()
    if not packing.available():
        pytest.skip("this PyTorch build has no oneDNN linear")
    assert packing.pack_linears(model, lambda: model(x)) == 2
    assert isinstance(model[0], packing.PackedLinear)
    assert torch.allclose(model(x), expected, atol=1e-5)

    bf16 = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    reference = bf16(x).detach()
    if packing.pack_linears(bf16, lambda: bf16(x), torch.bfloat16):  # where oneDNN has bf16
        out = bf16(x)
        assert out.dtype == torch.float32
        assert (torch.nn.functional.cosine_similarity(out, reference) > packing.BF16_OUTPUT_COSINE).all()

    fresh = torch.nn.Sequential(torch.nn.Linear(8, 4))
    calls = iter([torch.ones(3, 4), -torch.ones(3, 4)])  # a probe whose output "changes"
    assert packing.pack_linears(fresh, lambda: next(calls)) == 0
    assert isinstance(fresh[0], torch.nn.Linear)


def _model_runs(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The batches of texts ``embedder`` runs through its model from now on, as a list."""
    batches: list[list[str]] = []
    vectors = embedder._vectors

    def spy(texts: list[str]) -> np.ndarray:
        batches.append(list(texts))
        return vectors(texts)

    monkeypatch.setattr(embedder, "_vectors", spy)
    return batches


def test_a_prefetched_query_is_encoded_once_and_unclaimed_ones_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = Embedder.get(embedding_model_name())
    question = "How long does shipping to Canada take?"
    expected = embedder.encode([question])[0]
    batches = _model_runs(embedder, monkeypatch)
    embedder.encode_query_soon(question)
    assert np.allclose(embedder.encode_query(question), expected, atol=1e-5)
    assert batches == [[question]]
    assert question not in embedder._prefetched

    monkeypatch.setattr(embedding, "PREFETCH_KEEP_S", 0.0)
    embedder.encode_query_soon("a question nobody asks for")
    time.sleep(0.01)
    embedder.encode_query_soon("the next customer's question")
    assert list(embedder._prefetched) == ["the next customer's question"]
    # The encodings started here end (in order, on one thread) before another test spies on the
    # model: on a busy machine they could still be running then.
    embedder._prefetched["the next customer's question"][0].result(timeout=60)
    embedder._prefetched.clear()


def test_a_query_embedded_again_is_not_run_through_the_model_again(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = Embedder.get(embedding_model_name())
    question = "what if the parcel never arrives? (asked twice)"
    batches = _model_runs(embedder, monkeypatch)
    first = embedder.encode_query(question)
    first[:] = 0.0  # a caller's change to its vector is its own
    again = embedder.encode_query(question)
    assert batches == [[question]]
    assert np.allclose(again, embedder.encode([question])[0], atol=1e-5)


HELP_PAGE = """<html><head><title>Refunds | Help</title></head><body><nav>Home</nav>
<article><h1>Refunds</h1><h2>Timing</h2><p>Refunds reach your card within 5 business days.</p></article></body></html>"""


def test_a_folder_of_help_centre_pages_and_markdown_files_is_imported(tmp_path: Path) -> None:
    (tmp_path / "help" / "billing").mkdir(parents=True)
    write(tmp_path / "help" / "billing", "refunds.html", HELP_PAGE)
    write(
        tmp_path / "help",
        "late-fees.md",
        "---\ntitle: Late fees\nurl: https://help.example/late\n---\n## Overtime\nEach extra 15 minutes costs $4.\n",
    )
    write(tmp_path / "help", ".hidden.md", "# Secret\nnot imported\n")
    call_command("import_kb", str(tmp_path / "help"), "--base-url", "https://help.example/")
    refunds = Article.objects.get(title="Refunds")
    assert refunds.url == "https://help.example/billing/refunds.html"
    assert "## Timing" in refunds.body and "Home" not in refunds.body
    late = Article.objects.get(title="Late fees")
    assert late.url == "https://help.example/late" and late.body.startswith("## Overtime")
    assert not Article.objects.filter(title="Secret").exists()


def test_a_zip_export_and_json_with_html_bodies_are_imported(tmp_path: Path) -> None:
    import zipfile  # noqa: PLC0415 - this test alone builds an archive

    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("articles/refunds.html", HELP_PAGE)
        zf.writestr(
            "more.json",
            json.dumps(
                {
                    "articles": [
                        {
                            "title": "Shipping",
                            "body": "<p>Ships in <b>2</b> days.</p>",
                            "html_url": "https://help.example/s",
                            "id": 7,
                        }
                    ]
                }
            ),
        )
    call_command("import_kb", str(archive))
    shipping = Article.objects.get(title="Shipping")
    assert (shipping.body, shipping.url) == ("Ships in 2 days.", "https://help.example/s")
    assert Article.objects.filter(title="Refunds").exists()


def test_a_bad_page_in_a_folder_names_the_file_and_changes_nothing(tmp_path: Path) -> None:
    Article.objects.create(title="Existing", body="keep me")
    (tmp_path / "kb").mkdir()
    write(tmp_path / "kb", "good.md", "# Good\nFine.\n")
    (tmp_path / "kb" / "bad.html").write_bytes(b"<h1>Bad</h1><p>\xff\xfe</p>")
    with pytest.raises(CommandError, match=r"bad\.html: not UTF-8"):
        call_command("import_kb", str(tmp_path / "kb"), "--replace")
    assert list(Article.objects.values_list("title", flat=True)) == ["Existing"]


def test_a_starting_worker_builds_the_index_and_its_speller_before_the_first_customer(tmp_path: Path) -> None:
    from generation import worker  # noqa: PLC0415 - connects the worker's signals
    from generation.knowledge import index  # noqa: PLC0415 - as above

    articles.kb_import(formats.parse_kb_path(write(tmp_path, "kb.json", json.dumps(ARTICLES))))
    worker._preload()  # no responder is built here: the engine's load is logged and skipped
    built = index.get_index()
    assert built._speller is not None  # the first question does not wait for the word list
    assert built.speller.correct("can I retrun it") == "can I return it"
