"""Test helper shared by the bad-input tests: pick one reported Problem by its attributes."""


def one(exc_info, **expected):
    """The single problem matching ``expected`` attributes (rule given as a fragment)."""
    frag = expected.pop("rule", "")
    hits = [p for p in exc_info.value.problems
            if frag in p.rule and all(getattr(p, k) == v for k, v in expected.items())]
    assert len(hits) == 1, [str(p) for p in exc_info.value.problems]
    return hits[0]
