import shutil
from pathlib import Path

from typer.testing import CliRunner

from app.cli.main import app as cli

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tests" / "data" / "content"


def test_check_passes_on_the_shipped_course():
    result = CliRunner().invoke(cli, ["content", "check", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output
    assert "seat time" in result.output and "words" in result.output


def test_check_prints_path_line_problems_and_exits_1(tmp_path):
    root = tmp_path / "c"
    shutil.copytree(DEMO, root)
    course = root / "courses" / "demo-course" / "course.yaml"
    course.write_text(course.read_text().replace("ce_hours: 0.15", "ce_hours: 0.15\nsurprise: 1"))
    result = CliRunner().invoke(cli, ["content", "check", str(root)])
    assert result.exit_code == 1
    assert "courses/demo-course/course.yaml:" in result.output
    line = next(x for x in result.output.splitlines() if "surprise" in x)
    assert line.split(":")[1].isdigit()
