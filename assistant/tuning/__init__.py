"""Domain tuning of the bundled e5 embedder: train a LoRA or BitFit adapter and measure it.

``model`` (the trainable encoder) and ``train`` (contrastive training, leave-one-department-out
figures) need torch (the ``fast``/``st`` extras); ``python -m assistant.tuning`` runs them. The adapter
file format and the patched images the embedders load live in ``assistant.e5.adapter`` (numpy only).
"""
