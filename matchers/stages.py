"""The stages of CONTRACT.md, their order, and their names in plain Dutch.

Stage *classification* of documents lives in `matchers.classify`; this module only knows the vocabulary.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    CONSULTATIE = "consultatie"
    ADVIES_RVS = "advies_rvs"
    INGEDIEND = "ingediend"
    AANGENOMEN_TK = "aangenomen_tk"
    VERWORPEN_TK = "verworpen_tk"
    AANGENOMEN_EK = "aangenomen_ek"
    VERWORPEN_EK = "verworpen_ek"
    GEPUBLICEERD = "gepubliceerd"
    IN_WERKING = "in_werking"
    INGETROKKEN = "ingetrokken"
    BRIEF = "brief"


# How far along the road from idea to law a stage is. A rejection or a withdrawal ends the road: it ranks
# above the stages it ends, so "furthest stage" reports it. A delivered letter is the whole road of a
# promised letter.
RANK: dict[Stage, int] = {
    Stage.CONSULTATIE: 10,
    Stage.ADVIES_RVS: 20,
    Stage.INGEDIEND: 30,
    Stage.AANGENOMEN_TK: 40,
    Stage.VERWORPEN_TK: 45,
    Stage.AANGENOMEN_EK: 50,
    Stage.VERWORPEN_EK: 55,
    Stage.GEPUBLICEERD: 60,
    Stage.IN_WERKING: 70,
    Stage.INGETROKKEN: 80,
    Stage.BRIEF: 30,
}

# Stages that end a bill's road without it becoming law: they do not keep a promise of a later stage.
TERMINAL_FAILURES = frozenset({Stage.VERWORPEN_TK, Stage.VERWORPEN_EK, Stage.INGETROKKEN})

DUTCH: dict[Stage, str] = {
    Stage.CONSULTATIE: "in internetconsultatie",
    Stage.ADVIES_RVS: "advies Raad van State gepubliceerd",
    Stage.INGEDIEND: "ingediend bij de Tweede Kamer",
    Stage.AANGENOMEN_TK: "aangenomen door de Tweede Kamer",
    Stage.VERWORPEN_TK: "verworpen door de Tweede Kamer",
    Stage.AANGENOMEN_EK: "aangenomen door de Eerste Kamer",
    Stage.VERWORPEN_EK: "verworpen door de Eerste Kamer",
    Stage.GEPUBLICEERD: "gepubliceerd in het Staatsblad",
    Stage.IN_WERKING: "in werking getreden",
    Stage.INGETROKKEN: "ingetrokken",
    Stage.BRIEF: "brief naar de Kamer gestuurd",
}


def parse_stage(value: str) -> Stage:
    """The stage named `value`; a `ValueError` naming the allowed stages otherwise."""
    try:
        return Stage(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Stage)
        raise ValueError(f"unknown stage {value!r}; allowed: {allowed}") from None


def keeps(reached: Stage | None, promised: Stage) -> bool:
    """Whether reaching `reached` keeps a promise of `promised`: the same stage or a later one on the road
    to law. A rejection or withdrawal keeps nothing but a promise of that very stage."""
    if reached is None:
        return False
    if reached == promised:
        return True
    if reached in TERMINAL_FAILURES or promised in TERMINAL_FAILURES:
        return False
    if promised == Stage.BRIEF or reached == Stage.BRIEF:
        return False
    return RANK[reached] >= RANK[promised]


def furthest(stages: list[Stage]) -> Stage | None:
    """The furthest of `stages` (None for none)."""
    return max(stages, key=lambda s: RANK[s], default=None)
