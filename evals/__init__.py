"""Offline evaluation harness: ``python -m evals run`` scores retrieval and answers; ``compare`` diffs two runs."""
