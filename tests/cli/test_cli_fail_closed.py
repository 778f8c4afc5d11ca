"""Issue 13: the CLI answers bad paths with a message and exit code 1, never a traceback."""

from __future__ import annotations

from guardopt.cli.main import main


def test_issue13_report_to_an_unwritable_out_is_an_error_message(tmp_path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["report", "--store", str(tmp_path / "none.db"), "--out", str(blocker / "reports")])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot write the reports to --out" in err and "Traceback" not in err
