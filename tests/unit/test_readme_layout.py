"""The README's Layout table matches the tree: every path it names exists, and
every folder of the package is named."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layout_paths() -> list[Path]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    paths = []
    for row in (line for line in section.splitlines() if line.startswith("| `")):
        first_cell = row.split("|")[1]
        names = re.findall(r"`([^`]+)`", first_cell)
        base = (ROOT / names[0].rstrip("/")).parent
        # A name with a folder in it is from the root; a bare one sits beside the first.
        paths += [ROOT / names[0], *((ROOT if "/" in name.rstrip("/") else base) / name for name in names[1:])]
    return paths


def test_every_path_the_layout_names_exists():
    paths = layout_paths()
    assert len(paths) > 10
    assert [str(p.relative_to(ROOT)) for p in paths if not p.exists()] == []


def test_every_folder_of_the_package_is_in_the_layout():
    named = {p.resolve() for p in layout_paths()}
    package = ROOT / "src" / "datemaker"
    folders = [p for p in package.rglob("*") if p.is_dir() and (p / "__init__.py").exists()]
    # A folder is named itself, or its parent is named and it is a package inside a named one.
    missing = [str(f.relative_to(package)) for f in folders
               if f.resolve() not in named and f.parent.resolve() not in named]
    assert missing == []
