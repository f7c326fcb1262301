"""The dependency floors in pyproject.toml admit no version with a known vulnerability we were told of.

Offline on purpose: `make lint` runs pip-audit where it can reach its service, but CI has
no network beyond the package registries. So the versions known to be fixed are written
here, with the advisory each one fixes; raise a floor (and add a row) when a new one comes out.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import version

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from bot.settings import ROOT

#: package -> (first fixed version, what it fixes)
FIXED = {
    "jinja2": ("3.1.6", "CVE-2025-27516: sandbox escape through the |attr filter"),
    "simpleeval": ("1.0.5", "CVE-2026-32640: sandbox escape to arbitrary functions"),
    "aiohttp": ("3.13.3", "the advisories fixed in 3.13.3 (its HTTP server's request handling)"),
    "cryptography": ("44.0.1", "CVE-2024-12797: the OpenSSL in its wheels"),
    "orjson": ("3.9.15", "CVE-2024-27454: no limit on how deeply nested the JSON it reads may be"),
}


def floors() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(line) for line in project["dependencies"]]
    return {req.name.lower(): req for req in requirements}


@pytest.mark.parametrize("package", sorted(FIXED))
def test_the_floor_is_at_or_above_the_fixed_version(package: str) -> None:
    fixed, advisory = FIXED[package]
    requirement = floors()[package]
    lowest = [Version(spec.version) for spec in requirement.specifier if spec.operator in (">=", "==", "~=")]
    assert lowest, f"{package} has no floor in pyproject.toml"
    assert max(lowest) >= Version(fixed), f"{requirement} admits versions before {fixed} ({advisory})"


@pytest.mark.parametrize("package", sorted(FIXED))
def test_the_installed_version_is_a_fixed_one(package: str) -> None:
    fixed, advisory = FIXED[package]
    assert Version(version(package)) >= Version(fixed), f"{package} {version(package)} is installed ({advisory})"
