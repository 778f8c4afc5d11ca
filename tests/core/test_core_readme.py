"""The README's code runs as written: its quick start is examples/quickstart.py, its other snippets run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_opens_with_make_run_and_make_test() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S)
    assert first_block is not None and first_block.group(1).split("\n")[:2] == ["make run", "make test"]
    assert text.index("```bash") < text.index("##")


def test_readme_quickstart_is_the_example_file() -> None:
    example = (ROOT / "examples" / "quickstart.py").read_text()
    body = example[example.index("import time"):]
    assert _python_blocks()[0].strip() == body.strip()


def test_readme_snippets_run(capsys: pytest.CaptureFixture[str]) -> None:
    for block in _python_blocks()[1:]:
        exec(compile(block, "README.md", "exec"), {})
    assert "True" in capsys.readouterr().out


def test_readme_links_exist_or_are_planned() -> None:
    links = re.findall(r"\]\((docs/[a-z_]+\.md)", (ROOT / "README.md").read_text())
    planned = {"docs/bo.md", "docs/bandits.md", "docs/certify.md", "docs/solver_tuning.md", "docs/streaming_bandits.md",
               "docs/online.md", "docs/optim.md", "docs/offline.md", "docs/reproduce.md"}
    assert planned <= set(links)
    for link in set(links) - planned:
        assert (ROOT / link).exists(), link
