"""tox's plugin for this project: an environment without its Python says how to get it.

tox.ini fails an environment whose Python is missing (as CI does) instead of skipping it
with a line lost in the summary; this adds the way out to that failure.
"""

from __future__ import annotations

import logging

from tox.plugin import impl
from tox.tox_env.api import ToxEnv
from tox.tox_env.python.api import Python

_HINT = (
    "no Python for %s on PATH, so this part of the matrix did not run. Put every Python the "
    "project supports on PATH (with pyenv: `pyenv local 3.11 3.10 3.12 3.13`, or each "
    "~/.pyenv/versions/*/bin as .ci/run does), or leave it out knowingly: "
    "`tox run-parallel --skip-missing-interpreters true` (README.rst, Development)"
)


@impl
def tox_env_teardown(tox_env: ToxEnv) -> None:
    """After an environment, say how to get its Python if it had none."""
    if not isinstance(tox_env, Python):
        return
    try:
        tox_env.base_python  # noqa: B018 - raises when no interpreter was found
    except Exception:  # tox's NoInterpreter (failed) or Skip (skipped)
        logging.getLogger("tox").warning(_HINT, ", ".join(tox_env.conf["base_python"]))
