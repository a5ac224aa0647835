"""The package layering in ARCHITECTURE.md, enforced by import-linter's contracts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Three contracts: layers, frameworks only in api, dispatch pure.
    assert "3 kept, 0 broken" in result.stdout


def test_dispatch_reads_no_clock_or_global_randomness() -> None:
    # A plain text scan for the usual ways to read the clock or the global random generator.
    forbidden = ("time.time(", "datetime.now(", "date.today(", "random.random(", "np.random.seed(")
    offenders = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in (ROOT / "dispatch").rglob("*.py")
        for needle in forbidden
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
