"""The knowledge base: articles and their import formats, passages and sentences, and the
retrieval index (MiniLM embeddings and BM25) that finds the passage answering a question."""
