"""What ``--model`` names, and whether the Hugging Face hub can be reached: both known before torch is imported.

Offline, transformers and datasets retry every hub request for half a minute
before they fail. The harness decides once per process instead: offline when
``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` says so, else when one TCP
connection to the hub (or to the proxy that reaches it) fails within a few
seconds. Found offline, it sets ``HF_HUB_OFFLINE`` and ``HF_DATASETS_OFFLINE``
for this process and the workers it starts, so that the libraries read their
caches at once instead of retrying, and a hub model missing from the cache is an
error before anything is loaded.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import urllib.parse
from pathlib import Path

from .errors import HarnessError, ModelError

DEFAULT_MODEL = "xlm-roberta-large"
SMOKE_PRESETS = {"tiny"}
#: ``--dtype`` and ``--model-args dtype=`` spellings -> the torch dtype's name
DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
          "float16": "float16", "fp16": "float16"}  # fmt: skip
#: how long the one connectivity probe waits (a reachable hub answers in well under a second)
PROBE_TIMEOUT_S = 3.0
#: what huggingface_hub reads as a set flag
_TRUE = {"1", "true", "yes", "on"}


def check_dtype(value: str, shown: str, error: type[HarnessError] = HarnessError) -> None:
    """A dtype spelling that is neither ``auto`` nor one of ``DTYPES``: ``shown`` is how the user wrote it."""
    if value != "auto" and value not in DTYPES:
        raise error(f"{shown} is not one of auto, {', '.join(DTYPES)}.")


def names_a_folder(name: str) -> bool:
    """Whether ``--model`` is meant as a path: hub ids are ``name`` or ``org/name``, paths start with / . ~ or go
    deeper, or exist."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or Path(name).exists()


def is_hub_id(name: str) -> bool:
    return name not in SMOKE_PRESETS and not names_a_folder(name)


def check_model_name(name: str) -> None:
    """``--model`` that names a folder which does not exist, said before any data is read."""
    if name not in SMOKE_PRESETS and names_a_folder(name) and not Path(name).expanduser().is_dir():
        raise ModelError(
            f"--model {name}: no such folder. A local model is a folder with config.json, weights and tokenizer "
            f"files (as save_pretrained writes them); a hub id looks like FacebookAI/xlm-roberta-large."
        )


@functools.cache
def offline_reason() -> str | None:
    """Why the hub cannot be reached (None: it can), decided once per process; offline, the libraries are told."""
    reason = next((f"{var} is set" for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
                   if os.environ.get(var, "").strip().lower() in _TRUE), None) or _probe()  # fmt: skip
    if reason:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    return reason


def _probe() -> str | None:
    """One TCP connection to the hub (``HF_ENDPOINT``), or to the HTTPS proxy when one is set.

    Run in a thread so that a name lookup that hangs (some resolvers ignore socket timeouts) is cut off too.
    """
    endpoint = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    proxy = next((os.environ[v] for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy") if os.environ.get(v)),
                 None)  # fmt: skip
    target = urllib.parse.urlsplit(proxy if "://" in (proxy or "") else f"http://{proxy}") if proxy else endpoint
    host, port = target.hostname or "", target.port or (443 if target.scheme == "https" else 80)
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(f"{host}:{port} cannot be reached ({exc.strerror or exc})")

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(PROBE_TIMEOUT_S + 1)
    return outcome[0] if outcome else f"{host}:{port} did not answer within {PROBE_TIMEOUT_S:g} s"


def check_hub_model(name: str, revision: str | None = None) -> None:
    """A hub model that cannot be had: offline and not in the HF cache. Probes the hub only for hub ids."""
    if not is_hub_id(name) or offline_reason() is None:
        return
    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json", revision=revision), str):
        return  # cached: transformers, told it is offline, loads it from there at once
    raise ModelError(
        f"--model {name}: the Hugging Face hub cannot be reached ({offline_reason()}) and the model is not in the "
        f"HF cache ({constants.HF_HUB_CACHE}). Download it where there is network (`hf download {name}`, with "
        f"HF_HOME pointing at a cache this machine reads), pass a local folder saved with save_pretrained, or use "
        f"--model tiny for an offline smoke run."
    )
