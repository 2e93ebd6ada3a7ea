"""The offline responder: training corpus, dialogues, training and evaluation."""
