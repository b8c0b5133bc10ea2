"""Trained artefacts: LoRA adapters on one resident base, full fine-tuning checkpoints, task heads.

``store`` keeps them content-addressed on disk; ``lora`` hosts any number of
named LoRA adapters on the single base encoder a run loads. Heads are stored
apart from adapters (XLM-R's composite sequence head breaks PEFT's
mixed-adapter batches, and intermediate adapters must be reusable under a new
target head).
"""
