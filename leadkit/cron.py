"""The crontab line for a workspace: cron runs with almost no environment, so the line says it all.

Cron's PATH is /usr/bin:/bin and it has none of the login shell's variables: a bare `leadkit` in a
venv is not found, and a secret set in ~/.profile is missing. So the line names the executable by
its absolute path, changes into the workspace, carries PYTHONPATH if this install needs it, and reads
the secrets the settings name from a file beside the state (never printed into the crontab).
"""

from __future__ import annotations

import shlex
from pathlib import Path

ENV_FILE = ".leadkit/cron.env"  # NAME=value lines, chmod 600; read by the cron line


def crontab_line(
    root: Path,
    executable: list[str],
    *,
    schedule: str = "30 8 * * 1-5",
    secrets: list[str] | None = None,
    pythonpath: str | None = None,
    args: str = "run -q",
) -> str:
    """`schedule` and the shell command that runs `leadkit ARGS` in the workspace `root`."""
    parts = [f"cd {shlex.quote(str(root))}"]
    if secrets:
        # set -a exports every NAME=value the file assigns; the file holds the secrets, not cron
        parts.append(f"set -a && . ./{ENV_FILE} && set +a")
    prefix = f"PYTHONPATH={shlex.quote(pythonpath)} " if pythonpath else ""
    parts.append(prefix + " ".join(shlex.quote(a) for a in executable) + " " + args)
    return f"{schedule}  " + " && ".join(parts)
