"""Every gdsolve command shown in the README runs and ends as the README says."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
RUN = [sys.executable, "-c", "from gdsolve.cli import main; main()"]


def commands() -> list[str]:
    """The gdsolve command lines in the README's code blocks."""
    found, fence = [], None
    for line in README.splitlines():
        if line.startswith("```"):
            fence = None if fence is not None else line[3:]
            continue
        line = line.removeprefix("$ ").split("  #")[0].strip()
        if fence == "" and line.startswith(("gdsolve ", "printf ")):
            found.append(line)
    return found


def test_the_readme_shows_commands():
    assert len(commands()) >= 10


@pytest.mark.parametrize("line", commands())
def test_readme_command(line, tmp_path):
    for folder in ("examples", "docs"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    gdsolve = " ".join(shlex.quote(part) for part in RUN)
    shell_line = re.sub(r"(^|\| )gdsolve ", lambda m: m.group(1) + gdsolve + " ", line)
    env = dict(os.environ, NO_COLOR="1")
    done = subprocess.run(
        ["bash", "-c", "set -o pipefail; " + shell_line],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    expected = 1 if '"2*x+y=1"' in line else 2 if "+ = 3" in line else 0
    if "jq" in line and shutil.which("jq") is None:
        expected = 127
    assert done.returncode == expected, done.stderr
    assert "Traceback" not in done.stderr


def test_readme_quick_start_output_is_real():
    done = subprocess.run(
        RUN + ["solve", "x**2+y**2=4", "x*y=1", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    for line in done.stdout.splitlines():
        assert line in README
