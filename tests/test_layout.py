"""Feature packages hold the domain; only api/, web/, cli/ and core/ may know the web stack."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
ENTRY_POINTS = {"api", "web", "cli", "core"}
# Every other package under app/ is a feature, so a new one is covered without editing this list.
FEATURES = sorted(
    p.name
    for p in APP.iterdir()
    if p.is_dir() and (p / "__init__.py").exists() and p.name not in ENTRY_POINTS
)
FORBIDDEN = ("fastapi", "starlette", "jinja2", "app.api", "app.web", "app.cli")
# STYLE.md: certificate layouts render through pdf.py's own autoescaping Jinja environment.
ALLOWED = {("certificates/pdf.py", "jinja2"), ("certificates/pdf.py", "jinja2.sandbox")}


def test_features_do_not_import_entry_points_or_the_web_stack():
    assert {"licences", "records", "reporting", "analytics"} <= set(FEATURES)
    offenders = []
    for feature in FEATURES:
        for path in (APP / feature).rglob("*.py"):
            rel = str(path.relative_to(APP))
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [
                    f"{rel}: {n}"
                    for n in names
                    if n.startswith(FORBIDDEN) and (rel, n) not in ALLOWED
                ]
    assert offenders == []
