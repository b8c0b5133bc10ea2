"""A benchmark harness for noisy zero-shot cross-lingual transfer on XTREME-R.

The pipeline (``harness.pipeline``) reads declarative task specs
(``harness.tasks``), fine-tunes XLM-R on English data (full fine-tuning or LoRA
adapters, ``harness.adapters``), evaluates every language clean and under noise
(``harness.noise``), and writes result records and leaderboard tables.
"""

__version__ = "0.1.0"
