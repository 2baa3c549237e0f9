"""Which SKUs are in an active viral spike, for order priority (orders/priority.py).

Spike detection (flow 2 in DESIGN.md: video analytics + order velocity against the SKU's baseline)
belongs to the viral-detection issue, which has not landed yet. Until it does,
`skus_in_viral_spike` answers from a replaceable *source*: by default none, so it returns an empty
set and no order is scored VIRAL. The viral issue will install its detector with
`set_viral_source(...)` at app start-up (or replace the default source here); tests install a plain
function the same way. This is a seam, not a mock: callers keep calling the one function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

ViralSource = Callable[[set[str]], Iterable[str]]

_source: ViralSource | None = None


def set_viral_source(source: ViralSource | None) -> ViralSource | None:
    """Install `source(sku_ids) -> ids of those SKUs in a spike`; None restores "no spikes".

    Returns the previous source so a caller (a test) can put it back.
    """
    global _source
    previous, _source = _source, source
    return previous


def skus_in_viral_spike(*, sku_ids: Iterable) -> set[str]:
    """The ids (as strings) among `sku_ids` whose SKU is in an active viral spike.

    Empty until the viral-detection issue provides a source (see the module docstring).
    """
    wanted = {str(sku_id) for sku_id in sku_ids if sku_id is not None}
    if not wanted or _source is None:
        return set()
    return {str(sku_id) for sku_id in _source(wanted)} & wanted
