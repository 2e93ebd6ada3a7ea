"""The knowledge base: articles staff edit in the admin, with their cached embeddings."""

from __future__ import annotations

import hashlib
import json

from django.db import models


class Article(models.Model):
    title = models.CharField(max_length=200, unique=True)
    body = models.TextField()
    tags = models.JSONField(default=list, blank=True)
    # Ways customers ask for this article, one per line; they are indexed beside the text.
    questions = models.TextField(blank=True, help_text="Example customer questions, one per line.")
    url = models.URLField(max_length=500, blank=True, help_text="Where customers can read the article.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    # Embedding cache, filled by the retriever in the worker (never stale: keyed by content).
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    embedding_key = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def question_list(self) -> list[str]:
        return [line.strip() for line in self.questions.splitlines() if line.strip()]

    def content_key(self, model_name: str) -> str:
        """Changes whenever anything the embedding depends on changes."""
        payload = json.dumps([model_name, "v2", self.title, self.body, self.tags, self.question_list()])
        return hashlib.sha256(payload.encode()).hexdigest()


class TrainingState(models.Model):
    """One row: what the offline responder was last trained on (for the 'retrain' notice)."""

    trained_at = models.DateTimeField(null=True, blank=True)
    kb_fingerprint = models.CharField(max_length=64, blank=True)
    articles = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Responder trained at {self.trained_at}"
