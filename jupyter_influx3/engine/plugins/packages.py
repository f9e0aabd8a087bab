"""The Python environment plugins import from: a virtual environment at `<plugin-dir>/.venv` (as
InfluxDB 3 keeps one), seeing the server's own packages, into which `install_packages` and
`install_requirements` install with pip or uv (behaviour reference §6.2).

Owns creating that environment and running the installer. Package specifications are checked
(no option injection: nothing may start with `-`); `--package-manager disabled` refuses (403).
"""

from __future__ import annotations

import fcntl
import importlib
import os
import shutil
import site
import subprocess
import sys
import threading
from pathlib import Path

from .errors import InstallFailed, InvalidPluginPath, PackageManagerDisabled
from .loader import inside

MANAGERS = ("pip", "uv", "disabled")
INSTALL_TIMEOUT_S = 900
_lock = threading.Lock()


def venv_dir(plugin_dir: Path) -> Path:
    return Path(plugin_dir) / ".venv"


def site_packages(plugin_dir: Path) -> Path:
    v = sys.version_info
    return venv_dir(plugin_dir) / "lib" / f"python{v.major}.{v.minor}" / "site-packages"


def _python(plugin_dir: Path) -> Path:
    venv = venv_dir(plugin_dir)
    py = venv / "bin" / "python"
    if not py.exists():
        # --without-pip: fast, and pip runs from this interpreter with --python
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
                       check=True, capture_output=True, timeout=120)
    # The environment sees exactly the server's packages (a .pth, not --system-site-packages, which
    # would show the base interpreter's when the server itself runs in a virtual environment): pip
    # leaves what the server has (numpy, requests…) alone and installs the rest where the server's
    # plugins import from.
    cfg = venv / "pyvenv.cfg"
    text = cfg.read_text()
    if "include-system-site-packages = true" in text:  # made by an earlier version
        cfg.write_text(text.replace("include-system-site-packages = true", "include-system-site-packages = false"))
    pth = site_packages(plugin_dir) / "_influx3_server_packages.pth"
    pth.parent.mkdir(parents=True, exist_ok=True)
    wanted = "".join(p + "\n" for p in site.getsitepackages() if p != str(pth.parent))
    if not pth.exists() or pth.read_text() != wanted:
        pth.write_text(wanted)
    return py


def _check_specs(specs) -> list[str]:
    if not isinstance(specs, list) or not specs:
        raise InvalidPluginPath("packages must be a non-empty list of package specifications")
    for s in specs:
        if not isinstance(s, str) or not s.strip() or s.strip().startswith("-") or "\n" in s:
            raise InvalidPluginPath(f"invalid package specification {s!r}")
    return [s.strip() for s in specs]


def install(plugin_dir: Path, manager: str, *, packages: list[str] | None = None,
            requirements: str | None = None) -> str:
    """Install into the plugin environment; returns the installer's output."""
    if manager == "disabled":
        raise PackageManagerDisabled("Package installation has been disabled. Contact your administrator "
                                     "for more information.")
    args: list[str]
    if requirements is not None:
        if not isinstance(requirements, str):
            raise InvalidPluginPath("requirements_location must be a string")
        path = inside(Path(plugin_dir), requirements)  # a path under the plugin directory
        if not path.is_file():
            raise InvalidPluginPath(f"requirements file not found: {requirements}")
        args = ["-r", str(path)]
    else:
        args = _check_specs(packages)
    with _lock, _install_lock(Path(plugin_dir)):
        py = _python(Path(plugin_dir))
        if manager == "uv":
            uv = shutil.which("uv")
            if uv is None:
                raise InstallFailed("package manager uv is not installed")
            cmd = [uv, "pip", "install", "--python", str(py), *args]
        else:
            cmd = [sys.executable, "-m", "pip", "--python", str(py), "install", "--disable-pip-version-check",
                   *args]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise InstallFailed(f"package installation timed out after {INSTALL_TIMEOUT_S}s") from None
        if res.returncode != 0:
            tail = (res.stderr or res.stdout).strip().splitlines()[-20:]
            raise InstallFailed("Failed to install packages: " + "\n".join(tail))
    make_importable(Path(plugin_dir))  # importable by the next plugin call, no restart
    return res.stdout


class _install_lock:
    """One installer at a time in the environment, across the workers of a server too."""

    def __init__(self, plugin_dir: Path):
        self.path = venv_dir(plugin_dir).with_name(".venv.lock")

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        os.close(self.fd)


_seen: dict[str, int] = {}


def make_importable(plugin_dir: Path) -> None:
    """The environment's packages, those another process (a sibling worker) installed since the
    last call included, importable by the next plugin import: one stat when nothing changed."""
    sp = site_packages(Path(plugin_dir))
    try:
        mtime = sp.stat().st_mtime_ns
    except FileNotFoundError:
        return
    if _seen.get(str(sp)) == mtime:
        return
    _seen[str(sp)] = mtime
    if str(sp) not in sys.path:
        site.addsitedir(str(sp))
    importlib.invalidate_caches()
