"""A PDF's bytes depend on its page alone: Chromium's dates and its DOM node numbers (which differ
when the same page is printed under load) are rewritten in place. Fast: no browser."""

from __future__ import annotations

import re

from cartpool.builder.pdf import _normalise_node_ids


def _tagged(first: int) -> bytes:
    """The tagged-PDF parts that carry node numbers: structure elements and the sorted ID tree."""
    ids = [first, first + 3, first + 12, first + 100]
    elems = b"".join(b"<< /S /TD /ID (node%08d) >>\n" % i for i in ids)
    tree = b"/Names [" + b" ".join(b"(node%08d) %d 0 R" % (i, k) for k, i in enumerate(ids)) + b"]\n"
    return b"%PDF-1.4\n" + elems + tree + b"%%EOF\n"


def test_the_same_page_numbered_from_another_node_gives_the_same_bytes():
    once, again = _tagged(71), _tagged(70)
    assert once != again
    assert _normalise_node_ids(once) == _normalise_node_ids(again)
    assert len(_normalise_node_ids(once)) == len(once)  # the cross-reference offsets stay valid


def test_the_id_tree_stays_sorted():
    names = re.findall(rb"\(node(\d+)\) \d+ 0 R", _normalise_node_ids(_tagged(98)))
    assert names == sorted(names) and len(set(names)) == 4
