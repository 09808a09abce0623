"""Build the sdist and the wheel, check them, and run the suite against the installed wheel.

    python scripts/check_distribution.py WORK_FOLDER

1. ``python -m build`` makes both; ``twine check --strict`` checks their metadata.
2. The wheel must hold ``py.typed`` and the licence and no tests; the sdist must carry the
   tests, README.rst, SECURITY.rst, CHANGELOG.rst, the licence and ``py.typed``.
3. The sdist is unpacked and its copy of the package removed; the wheel is installed alone
   (with its ``tests`` extra) into a new virtual environment, and the unpacked tests run
   there, so they can only import the installed copy: what a user installs is what passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IN_WHEEL = ("requests_resharmonics/py.typed", "requests_resharmonics/testing/api/shapes.py")
IN_SDIST = (
    "README.rst",
    "SECURITY.rst",
    "CHANGELOG.rst",
    "LICENSE",
    "requests_resharmonics/py.typed",
    "tests/conftest.py",
    "tests/test_fake_api.py",
    "examples/quickstart.ipynb",
    "benchmarks/README.rst",
    "docs/renewal.rst",
    "docs/_static/renewal-timeline.svg",
)


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    """Run a command, showing it first; fail if it fails."""
    print("$", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True, cwd=cwd, env=env)


def main(work: Path) -> int:
    """Build, check and test the distribution in ``work``; return the exit status."""
    dist = work / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    run(sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", dist, ROOT)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)

    wheel_names = zipfile.ZipFile(wheel).namelist()
    missing = [name for name in IN_WHEEL if name not in wheel_names]
    if not any(name.endswith("/LICENSE") for name in wheel_names):
        missing.append("LICENSE")
    if any(name.startswith("tests/") for name in wheel_names):
        missing.append("(the wheel must not install a top-level 'tests' package)")
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        sdist_names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        missing += [f"sdist: {name}" for name in IN_SDIST if name not in sdist_names]
        missing += [
            f"(the sdist must not carry {name})"
            for name in sorted(sdist_names)
            if name.startswith(".ci/") or "__pycache__" in name or name.endswith((".pyc", ".pyo"))
        ]
        unpacked = work / "unpacked"
        shutil.rmtree(unpacked, ignore_errors=True)
        archive.extractall(unpacked)  # noqa: S202 - our own, just-built archive
    if missing:
        print("missing from the distribution:", ", ".join(missing), file=sys.stderr)
        return 1
    print(f"contents: {len(wheel_names)} files in the wheel, {len(sdist_names)} in the sdist")

    source = unpacked / top
    shutil.rmtree(source / "requests_resharmonics")  # only the installed copy may answer
    environment = work / "clean"
    shutil.rmtree(environment, ignore_errors=True)
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", f"{wheel}[tests]")
    env = {**os.environ, "REQUESTS_RESHARMONICS_TEST_INSTALLED": "1"}
    env.pop("PYTHONPATH", None)
    run(python, "-m", "pytest", "-p", "no:cacheprovider", "-q", cwd=source, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve()))
