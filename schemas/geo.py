"""The geography key: the Kafka message key of every lead topic.

Two leads that could be the same business must land on the same partition, or
dedupe (whose state is partition-local) cannot see both. City names are not
robust ("West LA" vs "Los Angeles"), so the key is coarse: the ZIP's 3-digit
prefix (the USPS sectional center), which every address in a metro shares with
its neighbours. A lead with no ZIP falls back to its phone's area code mapped
into the same namespace, then to the state.

Cost: keys are few (about 900 ZIP3s nationally, a few dozen per metro), so a
campaign that targets one metro uses few partitions. Scale-out is then bounded
by the number of ZIP3s in play, not by the partition count.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\D+")


def geo_key(zip_code: str | None, state: str | None = None, phone: str | None = None) -> str:
    """Return ``z<zip3>`` when a ZIP is known, else ``a<area code>``, else ``s<state>``."""
    if zip_code and len(zip_code) >= 3 and zip_code[:3].isdigit():
        return "z" + zip_code[:3]
    if phone:
        digits = _DIGITS.sub("", phone)
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        if len(digits) == 10:
            return "a" + digits[:3]
    if state:
        return "s" + state.upper()
    return "unknown"
