"""`torch_threads`: one thread unless the settings or GUARDOPT_TORCH_THREADS say otherwise."""

from __future__ import annotations

import pytest

from guardopt.reproduce.threads import torch_threads


def test_torch_threads_default_setting_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUARDOPT_TORCH_THREADS", raising=False)
    assert torch_threads({}) == 1
    assert torch_threads({"torch_threads": 3}) == 3
    monkeypatch.setenv("GUARDOPT_TORCH_THREADS", "2")
    assert torch_threads({"torch_threads": 3}) == 2


@pytest.mark.parametrize("bad", ["abc", "0", "-2", ""])
def test_torch_threads_refuses_bad_values_with_the_library_error(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    from guardopt.core.errors import InvalidParameterError

    monkeypatch.setenv("GUARDOPT_TORCH_THREADS", bad)
    with pytest.raises(InvalidParameterError, match="torch_threads"):
        torch_threads({})
    monkeypatch.delenv("GUARDOPT_TORCH_THREADS")
    with pytest.raises(InvalidParameterError):
        torch_threads({"torch_threads": 0})
