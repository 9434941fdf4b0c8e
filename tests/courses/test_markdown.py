"""Safe Markdown rendering: hostile input never becomes markup; course features render."""

from datetime import date
from html.parser import HTMLParser

import pytest

from app.courses.markdown import is_safe_href, render_markdown, slugify
from app.studio.bibliography import BibEntry

ALLOWED_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "a", "img", "aside", "sup", "section", "ol",
    "ul", "li", "hr", "table", "thead", "tbody", "tr", "th", "td", "em", "strong", "s",
    "code", "pre", "blockquote", "br",
}  # fmt: skip
ALLOWED_ATTRS = {
    "id", "class", "href", "src", "alt", "title", "role", "aria-label", "aria-labelledby",
    "loading", "style",
}  # fmt: skip
SAFE_URL_PREFIXES = ("#", "/", "http://", "https://", "mailto:")


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = _TagCollector()
    collector.feed(html)
    assert not collector.comments
    return collector.tags


def assert_only_safe_markup(html: str) -> None:
    for tag, attrs in tags_of(html):
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}> in {html!r}"
        for name, value in attrs.items():
            assert name in ALLOWED_ATTRS, f"unexpected attribute {name} in {html!r}"
            if name == "style":
                assert value in ("text-align:left", "text-align:right", "text-align:center")
            if name in ("href", "src"):
                assert value is not None
                lowered = value.strip().lower()
                assert lowered.startswith(SAFE_URL_PREFIXES) or ":" not in lowered.split("/")[0]


HOSTILE = [
    "<script>alert(1)</script>",
    "Inline <script>alert(1)</script> script",
    '<img src=x onerror="alert(1)">',
    "Inline <img src=x onerror=alert(1)> image",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](java%0ascript:alert(1))",
    "[click](<java\tscript:alert(1)>)",
    "[click](%6A%61%76%61script:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](file:///etc/passwd)",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pic](data:image/png;base64,iVBORw0KGgo=)",
    "![pic](data:image/svg+xml;base64,PHN2Zz4=)",
    "[click](//evil.example/path)",
    "[click](\\\\evil.example\\share)",
    "<javascript:alert(1)>",
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "[click](https://ok.example){onclick=alert(1)}",
    "## Heading {onclick=alert(1)}",
    '<div onclick="alert(1)">block</div>',
    "Inline <b onmouseover=alert(1)>bold</b> text",
    "<!-- hidden comment -->",
    "<iframe src=https://evil.example></iframe>",
    '<a href="javascript:alert(1)">raw link</a>',
    "# <img src=x onerror=alert(1)>",
    "| a |\n|---|\n| <script>alert(1)</script> |",
    "Footnote[^1].\n\n[^1]: <script>alert(1)</script>",
    '::: note" onclick="alert(1)\ntext\n:::',
    "::: <script>\ntext\n:::",
    '[x](https://ok.example "t\\" onmouseover=\\"alert(1)")',
    '![a" onerror="alert(1)](images/x.png)',
    '[@key"onmouseover=alert(1)]',
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_never_reaches_the_output_as_markup(source: str) -> None:
    html = render_markdown(source).html
    assert_only_safe_markup(html)
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<iframe" not in lowered
    assert "<div" not in lowered
    assert 'href="javascript' not in lowered
    assert 'href="data' not in lowered
    assert 'src="data' not in lowered
    for tag, attrs in tags_of(html):
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](&#106;avascript:alert(1))",
        "[click](data:text/html,hi)",
        "[click](//evil.example)",
    ],
)
def test_javascript_and_other_disallowed_links_are_rendered_as_text(source: str) -> None:
    rendered = render_markdown(source)
    assert "<a " not in rendered.html
    assert "click" in rendered.html
    assert rendered.problems  # the checker tells the author why the link vanished


def test_raw_html_is_shown_as_escaped_text() -> None:
    html = render_markdown("<b>bold</b> and <em>em</em>\n\n<div>x</div>").html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;div&gt;x&lt;/div&gt;" in html


@pytest.mark.parametrize(
    "url",
    ["http://a.example", "https://a.example/x?y=1#z", "mailto:a@b.example", "02-next.md#x", "#x"],
)
def test_allowed_link_targets_render_as_links(url: str) -> None:
    html = render_markdown(f"[go]({url})").html
    assert html.count("<a href=") == 1
    assert is_safe_href(url)


@pytest.mark.parametrize(
    ("text", "anchor"),
    [
        ("Routes & bioavailability", "routes-bioavailability"),
        ("  Mechanism of action  ", "mechanism-of-action"),
        ("Schedule III (CSA)", "schedule-iii-csa"),
        ("--Why?--", "why"),
        ("Café 2025", "caf-2025"),
    ],
)
def test_slugify_follows_the_authoring_rule(text: str, anchor: str) -> None:
    assert slugify(text) == anchor


def test_headings_get_anchor_ids_and_h2_h3_make_the_toc() -> None:
    rendered = render_markdown(
        "# Title\n\n## Routes & bioavailability\n\n### Oral `route`\n\n#### Deep\n"
    )
    assert '<h2 id="routes-bioavailability">' in rendered.html
    assert '<h3 id="oral-route">' in rendered.html
    assert '<h4 id="deep">' in rendered.html
    assert [(t.id, t.title, t.level) for t in rendered.toc] == [
        ("routes-bioavailability", "Routes & bioavailability", 2),
        ("oral-route", "Oral route", 3),
    ]
    assert rendered.anchors == {"title", "routes-bioavailability", "oral-route", "deep"}


def test_duplicate_headings_are_a_problem_at_the_second_heading() -> None:
    rendered = render_markdown("## Dosing\n\ntext\n\n## Dosing!\n")
    assert rendered.problems == [(5, "duplicate heading anchor '#dosing' (first used at line 1)")]


def test_pipe_tables_and_strikethrough_render() -> None:
    html = render_markdown("| Drug | Half-life |\n|---|--:|\n| Ketamine | 2.5 h |\n\n~~old~~").html
    assert "<table>" in html
    assert "<th>Drug</th>" in html
    assert '<td style="text-align:right">2.5 h</td>' in html
    assert "<s>old</s>" in html


def test_footnotes_render_as_a_linked_list() -> None:
    html = render_markdown("Aside[^1].\n\n[^1]: A note for the curious.\n").html
    assert '<sup class="footnote-ref"><a href="#fn1" id="fnref1">[1]</a></sup>' in html
    assert '<section class="footnotes">' in html
    assert "A note for the curious." in html


@pytest.mark.parametrize(
    ("kind", "label"),
    [("note", "Note"), ("warning", "Warning"), ("pearl", "Clinical pearl")],
)
def test_each_callout_kind_renders_as_a_labelled_aside(kind: str, label: str) -> None:
    rendered = render_markdown(f"::: {kind}\nInside **text**.\n:::\n")
    assert (
        f'<aside class="callout callout-{kind}" role="note" aria-label="{label}">' in rendered.html
    )
    assert f'<p class="callout-title">{label}</p>' in rendered.html
    assert "<p>Inside <strong>text</strong>.</p>\n</aside>" in rendered.html
    assert rendered.problems == []


def test_legal_callout_shows_the_current_as_of_label_and_records_its_date() -> None:
    rendered = render_markdown("Intro.\n\n::: legal as-of=2026-11-03\nThe rule.\n:::\n")
    assert 'class="callout callout-legal"' in rendered.html
    assert (
        '<p class="callout-title">Current as of November 3, 2026: '
        "check your state's current rules</p>"
    ) in rendered.html
    assert rendered.legal_dates == [(date(2026, 11, 3), 3)]
    assert rendered.problems == []


@pytest.mark.parametrize(
    ("opening", "message"),
    [
        ("::: legal", "legal callout needs as-of=YYYY-MM-DD"),
        ("::: legal as-of=2026-02-30", "not a valid as-of=YYYY-MM-DD date"),
        ("::: legal as-of=soon", "not a valid as-of=YYYY-MM-DD date"),
        ("::: tip", "unknown callout '::: tip'"),
        ("::: note extra words", "unexpected 'extra words' after '::: note'"),
    ],
)
def test_bad_callouts_are_problems(opening: str, message: str) -> None:
    rendered = render_markdown(f"Text.\n\n{opening}\nBody.\n:::\n")
    assert len(rendered.problems) == 1
    line, text = rendered.problems[0]
    assert line == 3
    assert message in text
    assert rendered.legal_dates == []


def test_unknown_callout_renders_without_author_controlled_class() -> None:
    html = render_markdown("::: tip\nBody.\n:::\n").html
    assert '<aside class="callout" role="note" aria-label="Note">' in html
    assert "tip" not in html


def _bib() -> dict[str, BibEntry]:
    return {
        "Zanos2018": BibEntry(
            key="Zanos2018",
            fields={
                "ENTRYTYPE": "article",
                "author": "Zanos, Panos and Gould, Todd D.",
                "title": "Mechanisms of ketamine action as an antidepressant",
                "journal": "Mol Psychiatry",
                "year": "2018",
                "volume": "23",
                "number": "4",
                "pages": "801--811",
                "doi": "10.1038/mp.2017.255",
                "pmid": "29532791",
            },
            line=1,
        ),
        "Label": BibEntry(
            key="Label",
            fields={
                "ENTRYTYPE": "misc",
                "author": "{Example Pharma}",
                "title": "Drug <b>label</b>",
                "year": "2020",
                "url": "https://label.example/x.pdf",
            },
            line=12,
        ),
        "Other": BibEntry(
            key="Other",
            fields={"ENTRYTYPE": "misc", "title": "Other", "url": "https://o.example"},
            line=20,
        ),
    }


def test_citations_are_numbered_in_first_use_order() -> None:
    rendered = render_markdown(
        "First [@Label]. Then [@Zanos2018; @Label]. Again [@Label].\n", bibliography=_bib()
    )
    assert rendered.citations == ["Label", "Zanos2018"]
    html = rendered.html
    assert 'First <sup class="cite"><a href="#ref-label">[1]</a></sup>.' in html
    assert (
        'Then <sup class="cite">[<a href="#ref-label">1</a>,<a href="#ref-zanos2018">2</a>]</sup>.'
        in html
    )
    assert 'Again <sup class="cite"><a href="#ref-label">[1]</a></sup>.' in html
    assert rendered.problems == []


def test_citation_may_span_a_line_break() -> None:
    rendered = render_markdown("Text [@Zanos2018;\n@Label] and [x](#gone)\n", bibliography=_bib())
    assert rendered.citations == ["Zanos2018", "Label"]
    assert rendered.links == [("#gone", 2)]


def test_references_section_lists_formatted_entries_with_linked_identifiers() -> None:
    html = render_markdown("A [@Zanos2018]. B [@Label].\n", bibliography=_bib()).html
    references = html[html.index('<section class="references"') :]
    assert references.startswith(
        '<section class="references" aria-labelledby="references">\n'
        '<h2 id="references">References</h2>\n<ol>\n'
    )
    assert (
        '<li id="ref-zanos2018">Zanos P, Gould TD. Mechanisms of ketamine action as an '
        "antidepressant. Mol Psychiatry. 2018;23(4):801-811. "
        'doi:<a href="https://doi.org/10.1038/mp.2017.255">10.1038/mp.2017.255</a> '
        'PMID: <a href="https://pubmed.ncbi.nlm.nih.gov/29532791/">29532791</a></li>'
    ) in references
    assert (
        '<li id="ref-label">Example Pharma. Drug &lt;b&gt;label&lt;/b&gt;. 2020. '
        '<a href="https://label.example/x.pdf">https://label.example/x.pdf</a></li>'
    ) in references
    assert "Other" not in references  # only cited entries are listed
    assert html.rstrip().endswith("</section>")


def test_reference_list_escapes_hostile_bibliography_fields() -> None:
    bib = {
        "Bad": BibEntry(
            key="Bad",
            fields={
                "ENTRYTYPE": "misc",
                "title": "<script>alert(1)</script>",
                "doi": '10.1/x" onmouseover="alert(1)',
                "url": "javascript:alert(1)",
            },
            line=1,
        ),
        "Worse": BibEntry(
            key="Worse",
            fields={"ENTRYTYPE": "misc", "title": "t", "url": "javascript:alert(1)"},
            line=5,
        ),
    }
    html = render_markdown("x [@Bad] [@Worse]", bibliography=bib).html
    assert_only_safe_markup(html)
    assert "<script" not in html
    assert 'href="javascript' not in html
    for _tag, attrs in tags_of(html):
        assert "onmouseover" not in attrs


def test_unknown_citation_key_is_a_problem_when_a_bibliography_is_given() -> None:
    rendered = render_markdown("Intro.\n\nSee [@zanos2018].\n", bibliography=_bib())
    assert rendered.problems == [
        (3, "unknown citation key '@zanos2018': not in references.bib (did you mean 'Zanos2018'?)")
    ]
    assert "zanos2018 (reference not found)" in rendered.html
    assert render_markdown("See [@Nobody].").problems == []  # no bibliography: no check


def test_heading_named_references_clashes_with_the_generated_list() -> None:
    rendered = render_markdown("## References\n\nSee [@Zanos2018].\n", bibliography=_bib())
    assert rendered.problems == [
        (1, "heading anchor '#references' clashes with the generated reference list")
    ]


def test_internal_links_are_rewritten_and_recorded_with_their_lines() -> None:
    rendered = render_markdown(
        "See [next](02-next.md#scheduling),\n[same page](#top) and [handout](files/h.pdf).\n"
        "[web](https://example.org) [missing](03-gone.md)\n",
        module_urls={"02-next.md": "/courses/demo-course/modules/next"},
        asset_base="/courses/demo-course/assets/",
    )
    html = rendered.html
    assert '<a href="/courses/demo-course/modules/next#scheduling">next</a>' in html
    assert '<a href="#top">same page</a>' in html
    assert '<a href="/courses/demo-course/assets/files/h.pdf">handout</a>' in html
    assert '<a href="https://example.org">web</a>' in html
    assert '<a href="03-gone.md">missing</a>' in html
    assert rendered.links == [
        ("02-next.md#scheduling", 1),
        ("#top", 2),
        ("files/h.pdf", 2),
        ("03-gone.md", 3),
    ]


def test_images_use_the_asset_base_and_are_recorded() -> None:
    rendered = render_markdown(
        "Text\n\n![A receptor diagram](images/receptor.png)\n", asset_base="/assets/demo/"
    )
    assert (
        '<img src="/assets/demo/images/receptor.png" alt="A receptor diagram" loading="lazy">'
        in rendered.html
    )
    assert rendered.images == [("images/receptor.png", 3)]
    assert rendered.problems == []


def test_image_without_alt_text_is_a_problem() -> None:
    rendered = render_markdown("![](images/receptor.png)")
    assert rendered.problems == [(1, "image 'images/receptor.png' has no alt text")]


@pytest.mark.parametrize(
    "src", ["https://cdn.example/x.png", "../secret.png", "/etc/x.png", "images/../../x.png"]
)
def test_images_outside_the_course_are_not_rendered(src: str) -> None:
    rendered = render_markdown(f"![diagram]({src})")
    assert "<img" not in rendered.html
    assert "diagram" in rendered.html
    assert rendered.problems == [
        (1, f"image '{src}' must be a relative path inside the course folder")
    ]


def test_word_count_excludes_code_markup_urls_and_citations() -> None:
    source = (
        "# Two words\n\nThree **bold** words [link text](https://ex.example/a/b) [@Key].\n\n"
        "```\ncode is not counted at all\n```\n\nInline `code` too.\n"
    )
    # Two words / Three bold words link text / Inline too
    assert render_markdown(source).word_count == 2 + 5 + 2


def test_legal_callout_reviewed_date_is_shown_and_counts_for_staleness():
    from app.courses.markdown import render_markdown

    out = render_markdown("::: legal as-of=2024-12-31 reviewed=2026-11-23\nREMS text.\n:::\n")
    assert "Current as of December 31, 2024 (checked November 23, 2026)" in out.html
    assert [d.isoformat() for d, _ in out.legal_dates] == ["2026-11-23"]
    bad = render_markdown("::: legal as-of=2024-12-31 reviewed=2023-01-01\nx\n:::\n")
    assert any("earlier than" in msg for _, msg in bad.problems)
