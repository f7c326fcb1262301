"""The container recipe (Dockerfile) and the systemd unit (deploy/wegwijzer.service) say what they mean.

No image is built and no service started: the unit is checked by systemd's own
`systemd-analyze verify` where this machine has it (and read as INI everywhere), the
Dockerfile by reading its instructions and running the command it starts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PYTHON, REPO, bot_env

UNIT = REPO / "deploy" / "wegwijzer.service"
DOCKERFILE = REPO / "Dockerfile"
#: Where the unit expects the checkout (its venv's python is the ExecStart).
INSTALLED_AT = "/opt/wegwijzer"


def unit_entries(text: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value, as systemd reads a unit (keys may repeat; `#` starts a comment)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{UNIT.name}:{number}: not a key=value line in a section"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments left out."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in joined.splitlines() if line.strip()]


def test_the_unit_is_what_systemd_accepts_without_a_warning(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        reason = "no systemd-analyze here (`make test` installs Debian's systemd as root)"
        if os.environ.get("CI"):
            pytest.fail(f"in CI the unit must be verified by systemd itself: {reason}")
        pytest.skip(reason + "; test_the_unit_restarts_on_failure_as_its_own_user_in_a_sealed_system reads it")
    # the same unit, with this checkout where the installation would be (verify wants ExecStart to exist)
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED_AT, str(REPO)))
    done = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_unit_restarts_on_failure_as_its_own_user_in_a_sealed_system() -> None:
    unit = unit_entries(UNIT.read_text())
    service = {key: values[-1] for key, values in unit["Service"].items()}
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("", "root") and service["Group"] == service["User"]
    assert service["EnvironmentFile"].startswith("/etc/")
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["ExecStart"] == f"{INSTALLED_AT}/.venv/bin/python -m bot run"
    environment = dict(value.split("=", 1) for value in unit["Service"]["Environment"])
    data_dir = str(Path(environment["WEGWIJZER_DB"]).parent)
    assert data_dir in service["ReadWritePaths"].split()
    assert data_dir == f"/var/lib/{service['StateDirectory']}"  # systemd makes it, owned by the user, 0700
    assert service["StateDirectoryMode"] == "0700"
    assert environment["WEGWIJZER_YAML_CACHE"].startswith(f"/var/cache/{service['CacheDirectory']}/")
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_dockerfile_starts_the_bot_as_a_user_and_checks_healthz() -> None:
    steps = dockerfile_instructions(DOCKERFILE.read_text())
    kinds = [kind for kind, _ in steps]
    assert steps[0][0] == "FROM" and re.fullmatch(r"python:3\.1[1-9]-slim", steps[0][1])
    cmd = json.loads(next(args for kind, args in steps if kind == "CMD"))
    assert cmd == ["python", "-m", "bot", "run"]
    user = next(args for kind, args in steps if kind == "USER")
    assert user not in ("root", "0")
    assert kinds.index("USER") > max(i for i, kind in enumerate(kinds) if kind == "RUN")  # runs unprivileged
    healthcheck = next(args for kind, args in steps if kind == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    env = " ".join(args for kind, args in steps if kind == "ENV")
    assert "WEGWIJZER_HEALTH_PORT=8080" in env and "WEGWIJZER_DB=/data/" in env
    assert "/data" in next(args for kind, args in steps if kind == "VOLUME")
    for kind, args in steps:
        if kind == "COPY":
            *sources, _target = args.split()
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"


def test_the_command_both_recipes_start_exists() -> None:
    """`python -m bot run` (the Dockerfile's CMD and the unit's ExecStart) is a command of the bot."""
    done = subprocess.run([PYTHON, "-m", "bot", "run", "--help"], capture_output=True, text=True,
                          env=bot_env(), cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and " run" in done.stdout
