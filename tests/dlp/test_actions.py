"""Actions: what replaces a finding, overlapping findings, and pseudonyms that come back."""

from __future__ import annotations

from mcp_gateway.dlp.actions import Decided
from mcp_gateway.dlp.editor import Editor
from mcp_gateway.dlp.model import Finding, Leaf
from mcp_gateway.dlp.policy import Action, MaskRule
from mcp_gateway.dlp.pseudonyms import PLACEHOLDER, PseudonymVault

KEY = b"k" * 32
TEXT = "mail bob@example.com or call 212-555-0199, card 4111111111111111."


def _editor(vault: PseudonymVault | None = None) -> Editor:
    return Editor(KEY, vault if vault is not None else PseudonymVault(KEY), MaskRule())


def _decided(entity: str, value: str, action: Action, text: str = TEXT) -> Decided:
    start = text.index(value)
    return Decided(Finding(entity, "$.t", start, start + len(value), 0.9, "r"), action)


def _edit(*decided: Decided, principal: str = "alice", editor: Editor | None = None) -> str:
    return (editor or _editor()).edits([Leaf("$.t", TEXT)], decided, principal)["$.t"]


def test_redact_mask_and_hash() -> None:
    out = _edit(
        _decided("EMAIL_ADDRESS", "bob@example.com", Action.redact),
        _decided("PHONE_NUMBER", "212-555-0199", Action.mask),
        _decided("CREDIT_CARD", "4111111111111111", Action.hash),
    )
    assert out.startswith("mail <EMAIL_ADDRESS> or call ********0199, card <CREDIT_CARD:")
    assert "4111" not in out and "bob" not in out
    # Keyed: the same value hashes the same, another key differently.
    again = _edit(_decided("CREDIT_CARD", "4111111111111111", Action.hash))
    assert again.split("card ")[1] == out.split("card ")[1]
    other = Editor(b"x" * 32, PseudonymVault(KEY), MaskRule()).edits(
        [Leaf("$.t", TEXT)], [_decided("CREDIT_CARD", "4111111111111111", Action.hash)], "alice"
    )["$.t"]
    assert other != again


def test_short_values_are_masked_whole() -> None:
    text = "pin 12345678"
    out = _editor().edits([Leaf("$.t", text)], [_decided("X", "12345678", Action.mask, text)], "a")["$.t"]
    assert out == "pin ********"


def test_allow_and_block_never_edit() -> None:
    editor = _editor()
    decided = [_decided("EMAIL_ADDRESS", "bob@example.com", Action.allow)]
    assert editor.edits([Leaf("$.t", TEXT)], decided, "alice") == {}
    decided = [_decided("EMAIL_ADDRESS", "bob@example.com", Action.block)]
    assert editor.edits([Leaf("$.t", TEXT)], decided, "alice") == {}


def test_overlapping_findings_merge_under_the_strictest_action() -> None:
    # The URL inside the address is redacted, the address pseudonymised: the union is redacted.
    email = _decided("EMAIL_ADDRESS", "bob@example.com", Action.pseudonymize)
    url = _decided("URL", "example.com", Action.redact)
    out = _edit(email, url)
    assert out.startswith("mail <URL> or call")
    assert "bob" not in out


def test_pseudonyms_are_stable_per_principal_and_restore_only_for_it() -> None:
    vault = PseudonymVault(KEY)
    editor = _editor(vault)
    email = _decided("EMAIL_ADDRESS", "bob@example.com", Action.pseudonymize)
    first = _edit(email, editor=editor)
    second = _edit(email, editor=editor)
    other = _edit(email, principal="mallory", editor=editor)
    placeholder = PLACEHOLDER.search(first)
    assert placeholder is not None and first == second
    assert other != first  # another principal gets another placeholder
    token = placeholder.group(0)
    assert vault.restore("alice", f"send to {token}") == "send to bob@example.com"
    assert vault.restore("mallory", f"send to {token}") == f"send to {token}"
    assert vault.restore("alice", "<EMAIL_ADDRESS_0000000000>") == "<EMAIL_ADDRESS_0000000000>"


def test_the_vault_is_bounded() -> None:
    vault = PseudonymVault(KEY, capacity=3)
    tokens = [vault.placeholder("a", "EMAIL_ADDRESS", f"u{i}@example.com") for i in range(5)]
    assert len(vault) == 3
    assert vault.restore("a", tokens[0]) == tokens[0]  # evicted: stays a placeholder
    assert vault.restore("a", tokens[4]) == "u4@example.com"
