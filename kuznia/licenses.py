"""Licenses of the sources, and the one license their combination can carry (dataset and model cards).

Sources state their licenses in their own words (`GPL-2.0-or-later`, `CC BY-SA 4.0`, `cc-by-sa-4.0`);
`spdx` puts them in SPDX form and `hub_id` gives the Hugging Face Hub's metadata identifier.
`combine` picks, among the sources' own licenses, one under which every source's text may be
redistributed according to that source license's own terms (an "or later" GPL moves to a later
version; CC BY-SA 4.0 text may be relicensed under GPLv3, as Creative Commons' compatibility list
says; CC0 and permissive licenses fold into a copyleft one). When there is no such license, or a
source's license is unknown, the result says so (`other` / `unknown`) and names the sources.
This is a mechanical reading of the licenses, not legal advice; the cards say so and let a user
set the license they choose instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNKNOWN = "unknown"

# SPDX id -> the Hugging Face Hub's identifier.
HUB_IDS = {
    "CC0-1.0": "cc0-1.0", "MIT": "mit", "Apache-2.0": "apache-2.0", "BSD-3-Clause": "bsd-3-clause",
    "CC-BY-4.0": "cc-by-4.0", "CC-BY-SA-3.0": "cc-by-sa-3.0", "CC-BY-SA-4.0": "cc-by-sa-4.0",
    "CC-BY-NC-4.0": "cc-by-nc-4.0", "CC-BY-NC-SA-4.0": "cc-by-nc-sa-4.0", "CC-BY-ND-4.0": "cc-by-nd-4.0",
    "GPL-2.0-only": "gpl-2.0", "GPL-2.0-or-later": "gpl-2.0", "GPL-3.0-only": "gpl-3.0",
    "GPL-3.0-or-later": "gpl-3.0", "LGPL-2.1-or-later": "lgpl-2.1", "LGPL-3.0-or-later": "lgpl-3.0",
    "AGPL-3.0-only": "agpl-3.0", "AGPL-3.0-or-later": "agpl-3.0", "GFDL-1.3-or-later": "gfdl",
    "ODC-By-1.0": "odc-by",
}
_PERMISSIVE = ("CC0-1.0", "MIT", "BSD-3-Clause", "Apache-2.0", "CC-BY-4.0")
_GPL3 = ("GPL-3.0-or-later", "GPL-3.0-only")
# What text under a license may also be redistributed under, by that license's own terms.
MAY_BECOME: dict[str, tuple[str, ...]] = {
    "CC0-1.0": tuple(HUB_IDS),
    "MIT": ("CC-BY-SA-4.0", "GPL-2.0-or-later", "GPL-2.0-only", *_GPL3, "AGPL-3.0-or-later", "AGPL-3.0-only"),
    "BSD-3-Clause": ("CC-BY-SA-4.0", "GPL-2.0-or-later", "GPL-2.0-only", *_GPL3),
    "Apache-2.0": ("CC-BY-SA-4.0", *_GPL3, "AGPL-3.0-or-later", "AGPL-3.0-only"),
    "CC-BY-4.0": ("CC-BY-SA-4.0", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", *_GPL3),
    "CC-BY-SA-4.0": _GPL3,
    "GPL-2.0-or-later": ("GPL-2.0-only", *_GPL3, "AGPL-3.0-or-later", "AGPL-3.0-only"),
    "GPL-3.0-or-later": ("GPL-3.0-only", "AGPL-3.0-or-later", "AGPL-3.0-only"),
    "GPL-3.0-only": ("AGPL-3.0-only", "AGPL-3.0-or-later"),
    "LGPL-2.1-or-later": ("GPL-2.0-or-later", "GPL-2.0-only", *_GPL3, "LGPL-3.0-or-later"),
    "LGPL-3.0-or-later": _GPL3,
    "CC-BY-NC-4.0": ("CC-BY-NC-SA-4.0",),
}
_ALIASES = {"CC0": "CC0-1.0", "PUBLIC-DOMAIN": "CC0-1.0", "GPL-2.0+": "GPL-2.0-or-later",
            "GPL-3.0+": "GPL-3.0-or-later", "GPL-2.0": "GPL-2.0-only", "GPL-3.0": "GPL-3.0-only",
            "GPLV2+": "GPL-2.0-or-later", "GPLV3+": "GPL-3.0-or-later", "GPLV2": "GPL-2.0-only",
            "GPLV3": "GPL-3.0-only", "APACHE-2": "Apache-2.0", "GFDL": "GFDL-1.3-or-later"}
_BY_UPPER = {k.upper(): k for k in HUB_IDS}


def spdx(name: str | None) -> str:
    """A source's license in SPDX form (`cc by-sa 4.0` -> `CC-BY-SA-4.0`); `unknown` when it
    says nothing we recognise (the raw text is kept by the caller, for the card)."""
    if not name or not str(name).strip():
        return UNKNOWN
    key = re.sub(r"[\s_]+", "-", str(name).strip()).upper().replace("CC-BY-SA4", "CC-BY-SA-4")
    key = _ALIASES.get(key, key)
    return _BY_UPPER.get(str(key).upper(), UNKNOWN)


def hub_id(spdx_id: str) -> str:
    """The Hub's metadata identifier of an SPDX license (`other` for one the Hub does not list)."""
    if spdx_id == UNKNOWN:
        return UNKNOWN
    return HUB_IDS.get(spdx_id, "other")


@dataclass(frozen=True)
class Combined:
    """The license a combination of sources can carry, and why."""

    spdx: str
    """An SPDX id, `unknown` (a source's license is unknown) or `other` (no common license)."""
    hub: str
    """The Hub's metadata identifier (`unknown`, `other`, or e.g. `gpl-3.0`)."""
    why: str
    """One sentence for the card: how it was derived, or which sources stand in the way."""


def combine(licenses: dict[str, str]) -> Combined:
    """The license every source's text may be redistributed under (see the module docstring).

    `licenses` maps a source name to its SPDX id (`spdx`). Among the distinct licenses, the one
    every other may become is chosen; of several, the first in SPDX-name order (deterministic).
    """
    distinct = sorted(set(licenses.values()))
    if not distinct:
        return Combined(UNKNOWN, UNKNOWN, "no source states a license")
    unknown = sorted(s for s, lic in licenses.items() if lic == UNKNOWN)
    if unknown:
        return Combined(UNKNOWN, UNKNOWN, f"the license of {', '.join(unknown)} is not known")
    if len(distinct) == 1:
        return Combined(distinct[0], hub_id(distinct[0]), f"every source is {distinct[0]}")
    fits = [t for t in distinct if all(s == t or t in MAY_BECOME.get(s, ()) for s in distinct)]
    if fits:
        return Combined(fits[0], hub_id(fits[0]),
                        f"the sources' licenses ({', '.join(distinct)}) all allow redistribution under {fits[0]}")
    return Combined("other", "other", f"no one license covers every source ({', '.join(distinct)})")


def by_license(licenses: dict[str, str]) -> dict[str, list[str]]:
    """Sources grouped by license, both sorted (for a card's license table)."""
    out: dict[str, list[str]] = {}
    for source in sorted(licenses):
        out.setdefault(licenses[source], []).append(source)
    return dict(sorted(out.items()))

