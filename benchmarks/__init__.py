"""Benchmark scripts of the fovea checkout (``python -m benchmarks`` runs the suite)."""
