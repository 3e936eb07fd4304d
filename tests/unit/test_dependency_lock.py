"""requirements.lock keeps up with pyproject.toml: every runtime dependency
(and what its requested extras bring) pinned to a version its bounds admit,
every pin with hashes; and the Containerfile installs from it, checking the
hashes, with nothing resolved on top."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(line) for line in project["dependencies"]]


def locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of each pin in requirements.lock."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            pins[current] = (match[2], 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def extras_bring(requirement: Requirement) -> set[str]:
    """What the requested extras add, from the installed distribution's metadata."""
    names = set()
    for line in metadata.requires(requirement.name) or []:
        needed = Requirement(line)
        for extra in requirement.extras:
            if needed.marker is not None and needed.marker.evaluate({**default_environment(), "extra": extra}):
                names.add(canonicalize_name(needed.name))
    return names


def test_every_runtime_dependency_is_pinned_within_its_bounds():
    pins = locked()
    problems = []
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{name} is not pinned")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{name}=={pins[name][0]} is outside {requirement.specifier}")
    assert problems == [], "regenerate requirements.lock (README: Container)"


def test_what_the_requested_extras_bring_is_pinned_too():
    pins = locked()
    brought = {name for requirement in runtime_requirements() if requirement.extras for name in extras_bring(requirement)}
    assert {"psycopg-binary", "psycopg-pool"} <= brought
    assert sorted(brought - set(pins)) == []


def test_every_pin_is_exact_and_carries_hashes():
    pins = locked()
    assert len(pins) > len(runtime_requirements())  # the dependencies' own dependencies too
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_the_container_installs_the_lock_with_its_hashes_and_resolves_nothing_more():
    steps = [line for line in (ROOT / "Containerfile").read_text(encoding="utf-8").splitlines() if line.startswith("RUN")]
    installs = [step for step in steps if "pip install" in step]
    assert any("--require-hashes" in step and "--no-deps" in step and "-r /tmp/requirements.lock" in step
               for step in installs)
    assert all("--no-deps" in step for step in installs + [s for s in steps if "pip wheel" in s])
    assert "COPY requirements.lock" in (ROOT / "Containerfile").read_text(encoding="utf-8")
