"""Conversation review for the operator console: exchange listings and exports, reviewers' verdicts
turned into evaluation datasets, and insights (topics, hand-offs, ratings, answer paths) with SVG charts.

``records`` shapes one stored exchange for the console (PII masked again on the way out);
``exports`` writes CSV / JSONL and the evaluation dataset; ``insights`` computes the figures;
``charts`` draws them; ``queries`` runs the filtered listing against the state database.
"""
