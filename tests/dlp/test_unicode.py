from __future__ import annotations

import random

import pytest

from mcp_gateway.dlp.unicode import HOMOGLYPHS, Normalized, normalize


def test_zero_width_split_email_is_joined_and_maps_back_to_the_whole_original() -> None:
    original = "a\u200b@exa\u200bmple.com"
    normalized = normalize(original)
    assert normalized.text == "a@example.com"
    assert normalized.to_original(0, len(normalized.text)) == (0, len(original))


def test_span_inside_text_maps_to_the_original_span() -> None:
    original = "mail: a\u200b@exa\u200bmple.com!"
    normalized = normalize(original)
    start = normalized.text.index("a@")
    end = start + len("a@example.com")
    assert normalized.to_original(start, end) == (6, 6 + len("a\u200b@exa\u200bmple.com"))


def test_full_width_digits_and_letters() -> None:
    normalized = normalize("card ４１１１ １１１１ ＡＢ")
    assert normalized.text == "card 4111 1111 AB"
    assert normalized.to_original(5, 9) == (5, 9)


def test_cyrillic_look_alikes_fold_to_latin() -> None:
    original = "\u0440\u0430\u0443\u0440\u0430l"  # Cyrillic er, a, u, er, a; Latin l
    assert original != "paypal"
    assert normalize(original).text == "paypal"


def test_greek_and_capital_look_alikes() -> None:
    assert normalize("\u0391\u0392\u0395\u039a \u0410\u0412\u0415\u041a \u03bf\u03bd").text == "ABEK ABEK ov"


def test_nfkc_expansion_maps_every_produced_char_to_its_source() -> None:
    original = "x\ufb01le"  # 'ﬁ' ligature
    normalized = normalize(original)
    assert normalized.text == "xfile"
    assert normalized.origin == (0, 1, 1, 2, 3)
    assert normalized.to_original(1, 2) == (1, 2)  # half of the ligature still maps to all of it
    assert normalized.to_original(2, 5) == (1, 4)
    assert normalized.to_original(0, 5) == (0, 4)


def test_superscripts_and_ligatures_through_nfkc() -> None:
    assert normalize("x\u00b2 \u2460").text == "x2 1"


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066", "\u180e", "\u034f", "\ufe0f"],
)
def test_invisible_characters_are_removed(invisible: str) -> None:
    normalized = normalize(f"41{invisible}11")
    assert normalized.text == "4111"
    assert normalized.to_original(0, 4) == (0, 5)


@pytest.mark.parametrize(
    ("disguised", "plain"),
    [
        ("1\u20102", "1-2"),
        ("1\u20112", "1-2"),
        ("1\u20132", "1-2"),
        ("1\u20142", "1-2"),
        ("1\u20152", "1-2"),
        ("1\u22122", "1-2"),
        ("1\ufe632", "1-2"),
        ("1\uff0d2", "1-2"),
        ("a\uff20b", "a@b"),
        ("a\ufe6bb", "a@b"),
        ("b\u2024com", "b.com"),
        ("b\u3002com", "b.com"),
        ("b\uff0ecom", "b.com"),
        ("b\uff61com", "b.com"),
    ],
)
def test_dashes_at_signs_and_dots(disguised: str, plain: str) -> None:
    assert normalize(disguised).text == plain


def test_homoglyph_table_is_small_and_maps_to_ascii() -> None:
    assert 50 <= len(HOMOGLYPHS) <= 80
    assert all(len(target) == 1 and target.isascii() for target in HOMOGLYPHS.values())
    assert not any(source.isascii() for source in HOMOGLYPHS)


def test_ascii_text_is_returned_unchanged_without_a_map() -> None:
    text = "plain ascii, a@example.com"
    normalized = normalize(text)
    assert normalized.text is text
    assert normalized.origin is None
    assert normalized.to_original(3, 9) == (3, 9)


def test_non_ascii_text_that_needs_no_change_has_no_map() -> None:
    normalized = normalize("日本語 café")
    assert normalized == Normalized("日本語 café", None)


def test_empty_text() -> None:
    assert normalize("") == Normalized("", None)
    assert normalize("\u200b").text == ""
    assert normalize("\u200b").to_original(0, 0) == (0, 0)


def test_empty_spans_and_span_bounds() -> None:
    normalized = normalize("a\u200bb\u200b")
    assert normalized.text == "ab"
    assert normalized.to_original(1, 1) == (2, 2)
    assert normalized.to_original(2, 2) == (3, 3)
    assert normalized.to_original(0, 2) == (0, 3)
    for start, end in [(-1, 1), (1, 0), (0, 3)]:
        with pytest.raises(ValueError, match="outside"):
            normalized.to_original(start, end)


def test_ascii_text_is_returned_as_is() -> None:
    # The common case costs nothing: no copy, no offset table (speed is measured in bench/, not here).
    text = "x" * 1024
    normalized = normalize(text)
    assert normalized.text is text and normalized.origin is None


_ALPHABET = "ab@.-1 9" + "\u200b\u200d\u00ad\ufeff" + "４１＠．－" + "аорсеі" + "\ufb01\u2212\u3002"


def test_property_mapped_span_renormalises_to_contain_the_span() -> None:
    rng = random.Random(20240601)
    for _ in range(2_000):
        original = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 10)))
        normalized = normalize(original)
        text = normalized.text
        for start in range(len(text) + 1):
            for end in range(start, len(text) + 1):
                orig_start, orig_end = normalized.to_original(start, end)
                assert 0 <= orig_start <= orig_end <= len(original)
                assert text[start:end] in normalize(original[orig_start:orig_end]).text, (original, start, end)
                if start < end:  # smallest: both ends of the mapped span produce part of the span
                    assert normalize(original[orig_start]).text
                    assert normalize(original[orig_end - 1]).text
