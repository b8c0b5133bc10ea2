"""Open an HTML report in headless Chromium: its DOM after the page's script ran, or a screenshot.

    python tests/html_screenshot.py REPORT.html OUT.png [--fragment 'sort=0:5:desc']

Uses Debian's ``chromium`` (``apt-get install chromium``) or any Chrome on the
PATH; the page's URL fragment drives its own script (sort, filter), so no
browser driver is needed. The test suite imports it; CI and people run it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _run(page: Path, fragment: str, *args: str) -> subprocess.CompletedProcess[str]:
    found = browser()
    if found is None:
        raise RuntimeError(f"No headless browser found (looked for {', '.join(BROWSERS)}).")
    uri = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    command = [found, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
               "--virtual-time-budget=10000", *args, uri]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def dom(page: Path, fragment: str = "") -> str:
    """The page's DOM once its script has run (sorted and filtered as ``fragment`` says)."""
    return _run(page, fragment, "--dump-dom").stdout


def screenshot(page: Path, out: Path, fragment: str = "", size: str = "1400,2600") -> Path:
    _run(page, fragment, f"--screenshot={out.resolve()}", f"--window-size={size}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--fragment", default="")
    parser.add_argument("--size", default="1400,2600")
    args = parser.parse_args()
    print(screenshot(args.page, args.out, args.fragment, args.size))


if __name__ == "__main__":
    sys.exit(main())
