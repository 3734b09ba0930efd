"""Open a report in headless Chromium (Debian's `chromium`): did every image load, did the page log anything
to the console, and a screenshot. Used by the tests and by `bench report --screenshot`."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Flags for a closed network (no background connections) and a fresh profile (ENVIRONMENT.md, issue notes).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


@dataclass
class BrowserCheck:
    images_loaded: str  # "loaded/total", as the page's own load handler wrote it on <body>
    console: list[str]  # console messages the page logged (errors or not: our page logs none)
    screenshot: Path | None

    @property
    def ok(self) -> bool:
        loaded, _, total = self.images_loaded.partition("/")
        return bool(total) and loaded == total and not self.console


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def check_in_browser(index: Path, screenshot: Path | None = None, *, width: int = 1500, height: int = 2400,
                     timeout: float = 90) -> BrowserCheck:
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("no chromium on PATH: `make test` installs Debian's chromium "
                                "(apt-get install chromium)")
    url = Path(index).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="mbchrome") as profile:
        common = [exe, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000"]
        dom = subprocess.run([*common, "--enable-logging=stderr", "--v=0", "--dump-dom", url], capture_output=True,
                             text=True, timeout=timeout)
        if screenshot is not None:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([*common, f"--window-size={width},{height}", f"--screenshot={screenshot}", url],
                           capture_output=True, text=True, timeout=timeout)
    m = re.search(r'data-images-loaded="(\d+/\d+)"', dom.stdout)
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    shot = Path(screenshot) if screenshot is not None and Path(screenshot).exists() else None
    return BrowserCheck(m.group(1) if m else "", console, shot)
