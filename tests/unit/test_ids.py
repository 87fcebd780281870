from __future__ import annotations

import pytest

from kinetic_core.emulator.store import ids


@pytest.mark.parametrize(
    ("id15", "suffix"),
    [
        ("001D000000IqhSL", "IAZ"),
        ("750R0000000zxr8", "IAA"),
        ("a0D30000001n7Pi", "EAI"),
        ("a01M00000062mPg", "IAI"),
        ("001M000000qfPyS", "IAU"),
        ("aaaaaaaaaaaaaaa", "AAA"),
        ("AbCdEfGhIjKlMnO", "VKV"),
        ("aBcDEfgHIJKLMNO", "025"),
    ],
)
def test_checksum_vectors(id15: str, suffix: str) -> None:
    assert ids.checksum(id15) == suffix
    assert ids.to18(id15) == id15 + suffix
    assert ids.is_well_formed(id15 + suffix.lower())


def test_make_id_round_trips() -> None:
    made = {ids.make_id("003", n) for n in range(1, 2000)}
    assert len(made) == 1999
    assert all(ids.is_well_formed(i) and i.startswith("0038c0") for i in made)


@pytest.mark.parametrize("bad", ["", "001", "001D000000IqhSLXXX", "001D000000Iq$SL", "x" * 17])
def test_malformed(bad: str) -> None:
    assert not ids.is_well_formed(bad)
    with pytest.raises(ValueError, match="malformed"):
        ids.to18(bad)
