#!/usr/bin/env python3
"""Build-context check for scripts/checks/image.sh: every file that src/ embeds with
include_bytes!/include_str! from outside src/ must be in the build context (CONTEXT_LIST:
the files podman's own .dockerignore handling put in it, one path a line) and be copied to
the same place by a COPY of the Dockerfile's build stage. Fails naming each file that is
not, so a missing file is reported before (and more clearly than) the compile error.

Usage: build_context.py REPO_ROOT CONTEXT_LIST
"""

from __future__ import annotations

import posixpath
import re
import sys
from pathlib import Path

EMBED = re.compile(r'include_(?:bytes|str)!\(\s*"([^"]+)"\s*\)')


def embedded_files(root: Path) -> dict[str, str]:
    """{embedded file relative to root: the source file naming it}."""
    found = {}
    for source in sorted((root / "src").rglob("*.rs")):
        for rel in EMBED.findall(source.read_text()):
            target = posixpath.normpath(posixpath.join(source.parent.relative_to(root).as_posix(), rel))
            found.setdefault(target, source.relative_to(root).as_posix())
    return found


def build_stage_copies(dockerfile: str) -> list[tuple[list[str], str, str]]:
    """(sources, destination, WORKDIR) of each plain COPY in the stage named `build`."""
    copies, in_build, workdir = [], False, "/"
    for line in dockerfile.replace("\\\n", " ").splitlines():
        words = line.split()
        if not words:
            continue
        op = words[0].upper()
        if op == "FROM":
            in_build = [w.lower() for w in words[-2:]] == ["as", "build"]
        elif in_build and op == "WORKDIR":
            workdir = posixpath.join(workdir, words[1])
        elif in_build and op == "COPY" and not any(w.startswith("--from") for w in words):
            args = [w for w in words[1:] if not w.startswith("--")]
            copies.append((args[:-1], args[-1], workdir))
    return copies


def copied_to(path: str, copies, workdir: str) -> bool:
    """Whether a COPY puts `path` (of the context) at WORKDIR/path."""
    want = posixpath.join(workdir, path)
    for sources, dest, dest_workdir in copies:
        base = posixpath.join(dest_workdir, dest)
        for source in sources:
            source = posixpath.normpath(source)
            if path == source:
                placed = posixpath.join(base, posixpath.basename(source)) if dest.endswith("/") or len(sources) > 1 else base
            elif source == "." or path.startswith(source + "/"):
                placed = posixpath.join(base, posixpath.relpath(path, source))
            else:
                continue
            if posixpath.normpath(placed) == posixpath.normpath(want):
                return True
    return False


def main() -> int:
    root, context_list = Path(sys.argv[1]), Path(sys.argv[2])
    context = {line.strip().removeprefix("./") for line in context_list.read_text().splitlines() if line.strip()}
    dockerfile = (root / "Dockerfile").read_text()
    copies = build_stage_copies(dockerfile)
    if not copies:
        print("build-context check: the Dockerfile has no COPY in a stage named `build`", file=sys.stderr)
        return 1
    # The crate is built where Cargo.toml is copied to.
    workdir = next((w for sources, _, w in copies if "Cargo.toml" in sources), copies[0][2])
    problems = []
    for path, named_by in sorted(embedded_files(root).items()):
        if path.startswith("../"):
            problems.append(f"{path} (embedded by {named_by}) is outside the repository")
            continue
        if path not in context:
            problems.append(f"{path} (embedded by {named_by}) is not in the build context: admit it in .dockerignore")
        if not copied_to(path, copies, workdir):
            problems.append(f"{path} (embedded by {named_by}) is not copied by the Dockerfile's build stage")
    for path in ("Cargo.toml", "Cargo.lock"):
        if path not in context or not copied_to(path, copies, workdir):
            problems.append(f"{path} is not in the build context or not copied by the build stage")
    for problem in problems:
        print(f"build-context check: {problem}", file=sys.stderr)
    if not problems:
        embedded = ", ".join(sorted(embedded_files(root))) or "none"
        print(f"every file src/ embeds is in the build context and copied by the build stage ({embedded})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
