"""Case rules for words in running text, shared by the analysis (which builds some phrases) and the
renderings: abbreviations such as "CAR-T", "PR" or "BCMA" keep their capitals."""

from __future__ import annotations


def sentence_case(text: str) -> str:
    """First letter upper-case, the rest as written (keeps abbreviations: "CAR-T", "PCL")."""
    return text[:1].upper() + text[1:] if text else text


def lower_first(text: str) -> str:
    """First letter lower-case unless the first word is an abbreviation ("CAR-T", "BCMA")."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first[:2].isupper() or any(c.isdigit() for c in first)):
        return text
    return text[:1].lower() + text[1:]
