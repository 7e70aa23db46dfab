"""The cross-check virtualenv: built once from crosscheck/requirements.txt, then reused.

It lives in `$ALTSIM_CROSSCHECK_VENV`, else `.crosscheck/venv` in the checkout (git-ignored).
A stamp file holds the hash of the requirements file and the interpreter's version; a venv
whose stamp matches is used as it is, any other is deleted and built again. Nova's wheel lacks
`etc/nova/api-paste.ini`, which Nova's API fixture loads from `<site-packages>/etc/nova/`, so
the build downloads Nova's source distribution (pip, PyPI) and copies that file from it. A lock
file keeps two runs (a pytest session and a CLI run, say) from building it at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
REQUIREMENTS = PACKAGE_DIR / "requirements.txt"
VENV_ENV = "ALTSIM_CROSSCHECK_VENV"
STAMP = "crosscheck-stamp"
PASTE_MEMBER = "etc/nova/api-paste.ini"
BUILD_TIMEOUT_S = 1800


class VenvError(RuntimeError):
    """The virtualenv could not be built: the message says which step failed and how."""


def default_venv_dir() -> Path:
    return Path(os.environ.get(VENV_ENV) or REPO_ROOT / ".crosscheck" / "venv")


def pinned_version(package: str) -> str:
    """The version crosscheck/requirements.txt pins for `package` (e.g. nova -> 34.0.0)."""
    pattern = re.compile(rf"^{re.escape(package)}==(\S+)", re.IGNORECASE | re.MULTILINE)
    match = pattern.search(REQUIREMENTS.read_text())
    if match is None:
        raise VenvError(f"{REQUIREMENTS}: no pin for {package}")
    return match.group(1)


def python_of(venv_dir: Path) -> Path:
    return venv_dir / "bin" / "python"


def ensure_venv(venv_dir: Path | None = None, log: Path | None = None) -> Path:
    """The venv's python, building the venv first unless a matching one is there."""
    venv_dir = (venv_dir or default_venv_dir()).resolve()
    venv_dir.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv_dir.with_name(venv_dir.name + ".lock")):
        if not _is_current(venv_dir):
            _build(venv_dir, log)
    return python_of(venv_dir)


def _stamp_text() -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    return f"{digest} python{sys.version_info.major}.{sys.version_info.minor}\n"


def _is_current(venv_dir: Path) -> bool:
    stamp = venv_dir / STAMP
    return (python_of(venv_dir).exists() and stamp.exists()
            and stamp.read_text() == _stamp_text())


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(venv_dir: Path, log: Path | None) -> None:
    if venv_dir.exists():
        shutil.rmtree(venv_dir)
    _run([sys.executable, "-m", "venv", str(venv_dir)], "create the virtualenv", log)
    python = str(python_of(venv_dir))
    _run([python, "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)],
         "install crosscheck/requirements.txt", log)
    _install_paste_config(python, log)
    (venv_dir / STAMP).write_text(_stamp_text())


def _install_paste_config(python: str, log: Path | None) -> None:
    """Copy etc/nova/api-paste.ini from Nova's sdist to where Nova's test fixture reads it."""
    version = pinned_version("nova")
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   "find site-packages", log).strip()
    with tempfile.TemporaryDirectory(prefix="crosscheck-sdist-") as tmp:
        _run([python, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
              f"nova=={version}", "-d", tmp],
             "download Nova's source distribution", log)
        archives = list(Path(tmp).glob("nova-*.tar.gz"))
        if not archives:
            raise VenvError(f"pip download nova=={version} gave no source archive in {tmp}")
        with tarfile.open(archives[0]) as archive:
            member = archive.extractfile(f"nova-{version}/{PASTE_MEMBER}")
            if member is None:
                raise VenvError(f"{archives[0].name} has no {PASTE_MEMBER}")
            target = Path(purelib) / PASTE_MEMBER
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(member.read())


def _run(command: list[str], step: str, log: Path | None) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
                              env=_pip_env())
    except subprocess.TimeoutExpired:
        raise VenvError(f"cross-check venv: {step} took over {BUILD_TIMEOUT_S} s") from None
    if log is not None:
        with open(log, "a") as handle:
            handle.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise VenvError(f"cross-check venv: could not {step} (exit {done.returncode}):\n{tail}")
    return done.stdout


def _pip_env() -> dict[str, str]:
    """The caller's environment without the virtualenv it runs in, so pip and venv act on
    the cross-check venv only."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    return env
