"""What the browser suite needs from outside Python: Chromium and axe-core.

Both are installed by the suite itself when they are missing and it can:
Chromium from Debian's ``chromium`` package (never Playwright's own browser
download), axe-core with ``npm ci`` from the committed package-lock.json.
"""

import os
import shutil
import subprocess
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent
AXE_SCRIPT = E2E_DIR / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")


class Unavailable(Exception):
    """A tool is missing and cannot be installed here; the message says why."""


def run(command: list[str], cwd: Path | None = None, timeout: int = 900) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(  # noqa: S603 - fixed commands, no user input
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise Unavailable(
            f"`{' '.join(command)}` failed with exit code {done.returncode}:\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )


def apt_install(package: str) -> None:
    apt_get = shutil.which("apt-get")
    if apt_get is None or os.geteuid() != 0:
        raise Unavailable(
            f"{package} is not installed, and installing it needs root and apt-get "
            f"(root: {os.geteuid() == 0}, apt-get: {apt_get is not None}); "
            f"install it with `apt-get install {package}`"
        )
    # Waits for another apt-get (a second test run, an admin) instead of failing.
    wait_for_lock = ["-o", "DPkg::Lock::Timeout=600"]
    run([apt_get, *wait_for_lock, "update"])
    # With its recommended packages, as a person would install it: fonts among them.
    run([apt_get, *wait_for_lock, "install", "-y", package])


def chromium_executable() -> str:
    """Debian's Chromium, installed with apt-get when it is missing."""
    if not CHROMIUM.exists():
        apt_install("chromium")
    if not CHROMIUM.exists():
        raise Unavailable(f"the chromium package did not provide {CHROMIUM}")
    return str(CHROMIUM)


def axe_script() -> Path:
    """axe-core at the version pinned in e2e/package-lock.json, installed by ``npm ci``."""
    if not AXE_SCRIPT.exists():
        if shutil.which("npm") is None:
            apt_install("npm")
        run([shutil.which("npm") or "npm", "ci", "--no-audit", "--no-fund"], cwd=E2E_DIR)
    if not AXE_SCRIPT.exists():
        raise Unavailable(f"`npm ci` did not provide {AXE_SCRIPT}")
    return AXE_SCRIPT
