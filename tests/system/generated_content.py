"""A large content tree generated from the small test course, for tests that need a long import."""

import shutil
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"

_MODULE = """---
slug: {slug}
title: Generated module {n}{tag}
estimated_minutes: 7
objectives:
  - Describe generated topic {n}.
---

# Generated module {n}{tag}

## Section one

{body}

## Section two

| Term | Meaning |
|------|---------|
| NMDA | N-methyl-D-aspartate ({n}) |

::: note
Doses in this course are examples, not clinical guidance [@Zanos2018; @Spravato-PI].
:::
"""

_QUIZ = """title: Check {n}{tag}
pass_mark: 0.8
max_attempts: 3
cooldown_hours: 24
reveal: after_pass
questions:
  - id: gen-{n}-mechanism
    type: single
    prompt: Which receptor does ketamine mainly block?
    options:
      - text: NMDA glutamate receptor
        correct: true
      - text: mu-opioid receptor
    explanation: Ketamine is an NMDA receptor antagonist.
    reference: "#section-one"
  - id: gen-{n}-terms
    type: true_false
    prompt: NMDA stands for N-methyl-D-aspartate.
    answer: true
    explanation: See the table.
    reference: "#section-two"
"""

_PARAGRAPH = (
    "Ketamine is an NMDA receptor antagonist [@Zanos2018]; integration sessions follow the acute "
    "effects. This paragraph is padding so that rendering and storing the module takes real work. "
)


def write_tree(root: Path, slug: str, modules: int, *, tag: str = "") -> Path:
    """Copies the demo course as ``slug`` with ``modules`` generated modules (each with a quiz).

    A different ``tag`` changes every file, so re-importing makes a new version of everything."""
    if root.exists():
        shutil.rmtree(root)
    course_dir = root / "courses" / slug
    quiz_dir = root / "quizzes" / slug
    shutil.copytree(DEMO / "courses" / "demo-course", course_dir)
    shutil.copytree(DEMO / "quizzes" / "demo-course", quiz_dir)
    for name in ("01-intro.md", "02-next.md"):
        (course_dir / name).unlink()
    for name in ("intro.yaml", "next.yaml"):
        (quiz_dir / name).unlink()
    body = "\n\n".join(_PARAGRAPH * 4 for _ in range(12))
    entries = []
    for n in range(1, modules + 1):
        module_slug = f"gen-{n:03d}"
        file_name = f"{n:03d}-{module_slug}.md"
        (course_dir / file_name).write_text(
            _MODULE.format(slug=module_slug, n=n, tag=tag, body=body)
        )
        (quiz_dir / f"{module_slug}.yaml").write_text(_QUIZ.format(n=n, tag=tag))
        entries.append(f"  - file: {file_name}")
    course_yaml = (course_dir / "course.yaml").read_text()
    head, _, rest = course_yaml.partition("modules:\n")
    _, _, tail = rest.partition("final_exam:")
    final = (quiz_dir / "final.yaml").read_text()
    final = final.replace("intro#what-this-course-covers", "gen-001#section-one")
    (quiz_dir / "final.yaml").write_text(final.replace("next#scheduling", "gen-002#section-two"))
    course_yaml = head.replace("slug: demo-course", f"slug: {slug}")
    course_yaml = course_yaml.replace(
        "title: Demo course for tests", f"title: Generated course{tag}"
    )
    (course_dir / "course.yaml").write_text(
        course_yaml + "modules:\n" + "\n".join(entries) + "\nfinal_exam:" + tail
    )
    return root
