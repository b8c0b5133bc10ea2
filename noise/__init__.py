"""Noise wrappers: seeded, script-aware perturbations that turn a task into its noisy variant."""
