"""Yuan ↔ fen without floats, and the masks every answer uses."""

from __future__ import annotations

import pytest

from enrollment.errors import DomainError
from registry.payments.masking import mask_id_number, mask_name, mask_tail
from registry.payments.money import fen_to_words, fen_to_yuan, yuan_to_fen


@pytest.mark.parametrize(("text", "fen"), [("90", 9000), ("90.5", 9050), ("90.50", 9050), ("0.01", 1),
                                           (" 1234567.89 ", 123456789), ("0.10", 10)])
def test_yuan_with_up_to_two_decimals_become_exact_fen(text, fen):
    """A yuan amount with at most two decimals is read as exact integer fen."""
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["", "90.505", "-90", "+90", "1,000", "9e1", "0", "0.00", "090", "abc", "90."])
def test_anything_else_is_amount_invalid(text):
    """Three decimals, a sign, a separator, an exponent, zero or a leading zero are amount.invalid."""
    with pytest.raises(DomainError) as err:
        yuan_to_fen(text)
    assert err.value.code == "amount.invalid" and err.value.field == "amount"


def test_fen_are_written_back_as_people_and_banks_read_them():
    """Reports and bank files write two decimals; an SMS says 90 for whole yuan."""
    assert [fen_to_yuan(f) for f in (9000, 9050, 1, 0)] == ["90.00", "90.50", "0.01", "0.00"]
    assert [fen_to_words(f) for f in (9000, 9050)] == ["90", "90.50"]
    assert sum(yuan_to_fen("0.10") for _ in range(10)) == yuan_to_fen("1")   # 0.1 * 10 is not 1.0 in floats


def test_masks_keep_only_what_a_person_needs_to_recognise():
    """Cards and accounts show their last four digits, IDs the first and last four, names the first and last character."""
    assert mask_tail("6214830012345341") == "****5341" and mask_tail("123") == "****"
    assert mask_id_number("510902196105202039") == "5109**********2039"
    assert [mask_name(n) for n in ("漆明学", "吴慧", "欧阳小明", "")] == ["漆*学", "吴*", "欧**明", ""]
