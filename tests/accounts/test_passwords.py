import pytest

from app.accounts.passwords import PasswordContext, password_problem

CTX = PasswordContext(
    email="jordan.lee@example.org", full_name="Jordan Lee", site_name="Clinician CE"
)


def test_fifteen_characters_are_required_without_a_second_factor():
    assert "at least 15" in password_problem("short but fine", CTX)
    assert password_problem("river lantern oak", CTX) is None


def test_eight_characters_are_enough_with_a_second_factor():
    assert password_problem("tulip-ox", CTX, has_second_factor=True) is None
    assert "at least 8" in password_problem("tulip", CTX, has_second_factor=True)


def test_long_passwords_are_accepted_and_no_composition_rules_apply():
    assert password_problem("a" * 3 + " quiet meadow beside the river " * 2, CTX) is None
    assert (
        password_problem("marigold " * 8 + "and one sparrow on a fence", PasswordContext()) is None
    )
    assert password_problem("all lower case words here", CTX) is None


@pytest.mark.parametrize(
    "password", ["passwordpassword", "123456789012345", "qwertyuiopasdfgh", "Password1234567!"]
)
def test_common_passwords_are_refused_with_a_reason(password):
    problem = password_problem(password, PasswordContext())
    assert problem is not None
    assert "common" in problem or "pattern" in problem


@pytest.mark.parametrize("password", ["aaaaaaaaaaaaaaaa", "abcdefghijklmnopq", "0987654321098765"])
def test_repeated_and_sequential_patterns_are_refused(password):
    assert "pattern" in password_problem(password, PasswordContext())


def test_context_specific_words_are_refused():
    assert "email" in password_problem("jordan.lee@example.org", CTX)
    assert "name" in password_problem("jordanjordan123", CTX)
    assert "site" in password_problem("clinicianCE2026!", CTX)


def test_unicode_passwords_count_characters_not_bytes():
    assert password_problem("żółw ćma źdźbło kot", CTX) is None
