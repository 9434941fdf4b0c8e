import re

import pytest

from app.certificates.codes import ALPHABET, new_code, normalize_code


def test_new_code_has_prefix_and_two_groups_from_the_unambiguous_alphabet() -> None:
    code = new_code()
    assert re.fullmatch(rf"KAT-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}", code)


def test_alphabet_leaves_out_characters_people_confuse() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET)


def test_new_codes_do_not_repeat_in_a_large_sample() -> None:
    codes = {new_code() for _ in range(5000)}
    assert len(codes) == 5000


def test_new_code_takes_a_custom_prefix_and_rejects_a_bad_one() -> None:
    assert new_code("ce").startswith("CE-")
    with pytest.raises(ValueError, match="prefix"):
        new_code("K1")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("KAT-7F3K-9QX2", "KAT-7F3K-9QX2"),
        ("  kat-7f3k-9qx2 ", "KAT-7F3K-9QX2"),
        ("KAT 7F3K 9QX2", "KAT-7F3K-9QX2"),
        ("kat\u20137f3k\u20149qx2", "KAT-7F3K-9QX2"),  # en and em dash from a word processor
        ("KAT - 7F3K - 9QX2", "KAT-7F3K-9QX2"),
    ],
)
def test_normalize_code_accepts_what_people_type(typed: str, expected: str) -> None:
    assert normalize_code(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "KAT",
        "KAT-7F3K",
        "KAT-7F3K-9QX",
        "KAT-0F3K-9QX2",
        "KAT-7F3K-9QXI",
        "KAT7F3K9QX2",
        "1-7F3K-9QX2",
    ],
)
def test_normalize_code_rejects_malformed_codes(typed: str) -> None:
    assert normalize_code(typed) is None
