"""The two virtual environments the bench needs, and version reporting.

Peers (uvicorn, gunicorn, granian, ...) and the original skitai/atila are not
the project's dependencies, so they live in their own venvs under
``bench/.work``; the bench creates them when missing or when the
requirements file changed (a stamp file holds its hash).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
WORK = BENCH / ".work"


def base_python() -> str:
    """A plain interpreter to build venvs from (the issue pins the original skitai to 3.11)."""
    return shutil.which("python3.11") or shutil.which("python3") or sys.executable


def ensure_venv(work: Path, name: str, requirements: Path, create: bool,
                log=print) -> tuple[str | None, str]:
    """Returns (python path, "") when usable, else (None, reason)."""
    venv = work / name
    python = venv / "bin" / "python"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    stamp = venv / ".bench-requirements"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return str(python), ""
    if not create:
        return None, f"{venv} missing (run without --no-setup to create it)"
    work.mkdir(parents=True, exist_ok=True)
    log(f"setup: creating {venv} from {requirements.name} (one time)", flush=True)
    try:
        if not python.exists():
            subprocess.run([base_python(), "-m", "venv", str(venv)], check=True,
                           capture_output=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)],
                       check=True, capture_output=True, timeout=900)
    except subprocess.CalledProcessError as e:
        err = (e.stderr or b"").decode(errors="replace").strip().splitlines()
        return None, f"creating {name} failed: {err[-1] if err else e}"
    except subprocess.TimeoutExpired:
        return None, f"creating {name} timed out"
    stamp.write_text(digest + "\n")
    return str(python), ""


def package_versions(python: str, names: list[str]) -> dict[str, str]:
    """Installed versions of ``names`` in the interpreter ``python`` (missing -> "not installed")."""
    code = (
        "import json, sys, importlib.metadata as m\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = 'not installed'\n"
        "out['python'] = sys.version.split()[0]\n"
        "print(json.dumps(out))\n"
    )
    try:
        res = subprocess.run([python, "-c", code, *names], capture_output=True, text=True, timeout=60)
        return json.loads(res.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        return {"error": str(e)}


def tool_version(argv: list[str]) -> str:
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (res.stdout + res.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"
