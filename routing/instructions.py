"""Instruction text for turn-by-turn steps, in Japanese (``ja``) and English (``en``).

Our own templates, written in the spirit of osrm-text-instructions (one phrase per maneuver
type and modifier, a variant with and without a street name). Japanese uses the plain polite
style a driver tablet speaks ("左折して○○通りに入ります").
"""

from __future__ import annotations

from typing import Final

__all__ = ["LANGUAGES", "arrival_sentence", "compass_direction", "instruction", "way_name"]

LANGUAGES: Final = ("ja", "en")

_COMPASS_EN = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")
_COMPASS_JA = ("北", "北東", "東", "南東", "南", "南西", "西", "北西")

_MODIFIER_EN = {
    "uturn": "U-turn",
    "sharp right": "sharp right",
    "right": "right",
    "slight right": "slightly right",
    "straight": "straight",
    "slight left": "slightly left",
    "left": "left",
    "sharp left": "sharp left",
}
_TURN_JA = {
    # Te-forms ("...して"), joined to the rest of the sentence with "、".
    "uturn": "Uターンして",
    "sharp right": "右に大きく曲がって",
    "right": "右折して",
    "slight right": "やや右に進んで",
    "straight": "直進して",
    "slight left": "やや左に進んで",
    "left": "左折して",
    "sharp left": "左に大きく曲がって",
}


def compass_direction(bearing: float, *, lang: str) -> str:
    """One of eight compass words for a bearing in degrees (0 north, 90 east)."""
    index = round((bearing % 360.0) / 45.0) % 8
    return (_COMPASS_JA if lang == "ja" else _COMPASS_EN)[index]


def way_name(name: str, ref: str) -> str:
    """The name a driver sees: ``"name (ref)"``, the name, the ref, or ``""``."""
    if name and ref and ref not in name:
        return f"{name} ({ref})"
    return name or ref


def _ordinal_en(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _english(
    kind: str, modifier: str, name: str, bearing_after: float, exit_number: int, arrive: str
) -> str:
    onto = f" onto {name}" if name else ""
    on = f" on {name}" if name else ""
    turn = _MODIFIER_EN.get(modifier, modifier)
    if kind == "depart":
        return f"Head {compass_direction(bearing_after, lang='en')}{on}"
    if kind == "arrive":
        return arrive or "You have arrived at your destination"
    if kind == "roundabout":
        exit_text = f"take the {_ordinal_en(exit_number)} exit" if exit_number else "exit"
        return f"Enter the roundabout and {exit_text}{onto}"
    if kind == "exit roundabout":
        return f"Leave the roundabout{onto}"
    if modifier == "uturn":
        return f"Make a U-turn{onto}" if kind != "continue" else f"Make a U-turn and continue{on}"
    if kind == "end of road":
        return f"At the end of the road, turn {turn}{onto}"
    if kind == "continue":
        if modifier == "straight":
            return f"Continue straight{on}"
        return f"Keep {turn} to stay{on}" if name else f"Continue {turn}"
    if kind == "new name":
        return f"Continue{onto}" if modifier == "straight" else f"Continue {turn}{onto}"
    if modifier == "straight":
        return f"Go straight{onto}"
    return f"Turn {turn}{onto}"


def _japanese(
    kind: str, modifier: str, name: str, bearing_after: float, exit_number: int, arrive: str
) -> str:
    into = f"{name}に入ります" if name else "進みます"
    along = f"{name}を進みます" if name else "進みます"
    turn = _TURN_JA.get(modifier, "進んで")
    if kind == "depart":
        return f"{compass_direction(bearing_after, lang='ja')}へ{along}"
    if kind == "arrive":
        return arrive or "目的地に到着しました"
    if kind == "roundabout":
        exit_text = f"{exit_number}番目の出口で出て" if exit_number else "出口で出て"
        return f"ロータリーに入り、{exit_text}、{into}"
    if kind == "exit roundabout":
        return f"ロータリーを出て、{into}"
    if kind == "end of road":
        return f"突き当たりを{turn}、{into}"
    if kind == "continue":
        if modifier == "straight":
            return f"そのまま{along}"
        return f"{turn}、引き続き{along}"
    if kind == "new name":
        return f"そのまま{into}" if modifier == "straight" else f"{turn}、{into}"
    return f"{turn}、{into}"


def instruction(
    kind: str,
    modifier: str,
    *,
    name: str = "",
    ref: str = "",
    bearing_after: float = 0.0,
    exit_number: int = 0,
    arrive: str = "",
    lang: str = "ja",
) -> str:
    """The spoken/displayed instruction of one step.

    Parameters
    ----------
    kind : str
        OSRM maneuver type ("depart", "turn", "new name", "continue", "end of road",
        "roundabout", "exit roundabout", "arrive").
    modifier : str
        OSRM modifier ("left", "slight right", "uturn", ...); "" for depart/arrive.
    name, ref : str
        Street name and road number of the road the step follows.
    bearing_after : float
        Heading in degrees after the maneuver (used by "depart").
    exit_number : int
        Roundabout exit counted from the entry (1 = first exit); 0 when unknown.
    arrive : str
        Overrides the arrival sentence (e.g. for intermediate stops of a multi-stop route).
    lang : str
        "ja" or "en".

    Raises
    ------
    ValueError
        For a language other than "ja" or "en".
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    shown = way_name(name, ref)
    build = _japanese if lang == "ja" else _english
    return build(kind, modifier, shown, bearing_after, exit_number, arrive)


def arrival_sentence(stop_number: int, *, final: bool, lang: str) -> str:
    """Arrival sentence: the destination, or intermediate stop ``stop_number`` (1-based)."""
    if lang == "ja":
        return "目的地に到着しました" if final else f"{stop_number}番目の停車地に到着しました"
    if final:
        return "You have arrived at your destination"
    return f"You have arrived at stop {stop_number}"
