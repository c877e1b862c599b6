"""Synthetic-vs-real metrics, one file per metric (after stylegan2-ada's `metrics/`), assembled in `metric_main`.

Every metric takes feature arrays (float32 (N, D) from `ganaug_core.features`) or pixels, never a generator or a
database row: the orchestration layer decides which real split each metric sees.
"""
