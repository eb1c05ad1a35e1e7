"""Family relations: GB/T 4761-2008 codes, their names, everyday words and the old simplified values."""

from __future__ import annotations

import pytest

from enrollment import relations
from enrollment.errors import DomainError


@pytest.mark.parametrize("typed, code", [
    ("22", "22"), ("长子", "22"), ("次女", "33"), ("妻", "12"), ("儿媳", "38"), ("孙子", "41"), ("母亲", "52"),
    ("本人", "01"), ("丈夫", "11"), ("妻子", "12"), ("老婆", "12"), ("儿子", "20"), ("女儿", "30"),
    ("女婿", "28"), ("孙女", "42"), ("父亲", "51"), ("公公", "53"), ("婆婆", "54"), ("非亲属", "99"),
    (" 长 子 ", "22"),
])
def test_code_name_or_everyday_word_gives_the_standard_code(typed, code):
    """A two-digit code, a standard name or a word people type all give one standard code."""
    assert relations.to_code(typed) == code


@pytest.mark.parametrize("old, sex, code", [
    ("户主", "男", "02"), ("配偶", "女", "10"), ("子女", "男", "20"), ("子女", "女", "30"),
    ("父母", "女", "50"), ("孙子女", "男", "40"), ("兄弟姐妹", "男", "70"), ("其他", "女", "80"),
])
def test_the_seven_old_values_map_to_codes(old, sex, code):
    """The simplified values stored before issue 12 map to a code (子女 by the resident's sex)."""
    assert relations.to_code(old, sex=sex) == code
    assert relations.migrate_payload({"relation": old, "sex": sex, "name": "x"}) == {
        "relation": code, "sex": sex, "name": "x"}


def test_unknown_value_is_an_error_naming_it():
    """A value that is no code, name or word is relation.unknown naming the value; nothing is relation.invalid."""
    with pytest.raises(DomainError) as info:
        relations.to_code("邻居")
    assert (info.value.code, info.value.field, info.value.data) == (relations.UNKNOWN, "relation", {"relation": "邻居"})
    with pytest.raises(DomainError) as empty:
        relations.to_code("  ")
    assert empty.value.code == relations.EMPTY
    with pytest.raises(DomainError):
        relations.to_code("98")  # not a code of the standard


def test_table_is_the_standard_and_words_never_shadow_a_name():
    """The table has the standard's 84 two-digit codes; every word maps to one of them and is no standard name."""
    codes = dict(relations.codes())
    assert len(codes) == 84 and codes["02"] == "户主" and codes["97"] == "其他亲属" and codes["99"] == "非亲属"
    table = relations.table()
    assert set(table.words.values()) <= set(codes)
    assert not set(table.words) & set(codes.values())
    for old in table.legacy:  # five old values are standard names with the same code; 子女, 孙子女 are not names
        assert old not in codes.values() or relations.to_code(old) == relations.legacy_code(old, "男")
    assert relations.name("22") == "长子" and relations.name("户主") == "户主"


def test_search_finds_by_code_name_and_word():
    """The form's search: 22 and 长子 find 长子; 老婆 finds 妻."""
    assert relations.matches("22", "22") and relations.matches("22", "长子") and relations.matches("22", "长")
    assert relations.matches("12", "老婆") and not relations.matches("22", "妻")
