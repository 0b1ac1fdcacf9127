"""Corpus: sources, download, cleaning, quality signals, dedup, the final corpus and its report.

A plain library of functions over paths and configs; it never imports Prefect or `flows`.
"""
