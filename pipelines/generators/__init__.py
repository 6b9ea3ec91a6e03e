"""Realistic synthetic exports for tests, the demo and benchmarks (deterministic per seed)."""
