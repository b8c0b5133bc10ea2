"""Task types: what turns rendered examples into model inputs, logits into predictions.

Each ``task_type`` of a spec names one ``TaskType`` here. A task type owns the
whole per-type path: which fields an example has, how it is tokenised into
features (one example may become several features: QA windows, long
sentences), the head on top of the encoder, the loss, and how feature outputs
are folded back into one prediction per example. Everything else (loading,
noise, batching, caching, training, scoring, reporting) is shared.
"""

from . import classification, multiple_choice, retrieval, span_qa, tagging  # noqa: F401  (each registers its type)
from .base import (  # noqa: F401  (the interface and registry are the package's interface)
    TASK_TYPES,
    Logits,
    TaskType,
    get_task_type,
    pad,
    register_task_type,
)
