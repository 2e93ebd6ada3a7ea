"""Answering one customer turn: the policy (declines, handoffs, smalltalk), the evidence a
reply is built from, the prompt, and the gate that verifies text before a customer sees it."""
