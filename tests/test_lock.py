"""requirements.lock: what scripts/setup installs, exact and complete (scripts/lock writes it)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;#]+)$")


def _lock() -> dict[str, Version]:
    """The lock's pins by canonical name; every line that is not a comment must be one."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"not an exact pin in requirements.lock: {line!r}"
        pins[canonicalize_name(match["name"])] = Version(match["version"])
    return pins


def _declared() -> list[Requirement]:
    """What pyproject.toml asks for: dependencies, the dev extra and the build tools."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    specs = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["dev"],
        *project["build-system"]["requires"],
    ]
    return [Requirement(spec) for spec in specs]


def test_the_lock_pins_every_declared_dependency_within_its_bounds() -> None:
    pins = _lock()
    missing = [str(r) for r in _declared() if canonicalize_name(r.name) not in pins]
    assert missing == [], "in pyproject.toml but not in requirements.lock: run scripts/lock"
    outside = [
        f"{r} (locked {pins[canonicalize_name(r.name)]})"
        for r in _declared()
        if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)
    ]
    assert outside == [], "locked outside pyproject.toml's bounds: run scripts/lock"


def test_the_lock_pins_torch_for_any_build_and_no_cuda_packages() -> None:
    pins = _lock()
    assert "torch" in pins and not pins["torch"].local, "torch is pinned without a build label"
    cuda = sorted(name for name in pins if name.startswith(("nvidia-", "triton")))
    assert cuda == []
