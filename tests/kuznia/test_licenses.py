"""Source licenses in SPDX form and the one license a combination of sources can carry."""

from __future__ import annotations

from kuznia.licenses import by_license, combine, hub_id, spdx


def test_spdx_reads_how_sources_write_their_licenses():
    assert spdx("GPL-2.0-or-later") == "GPL-2.0-or-later"
    assert spdx("CC BY-SA 4.0") == spdx("cc-by-sa-4.0") == "CC-BY-SA-4.0"
    assert spdx("GPLv3+") == "GPL-3.0-or-later" and spdx("cc0") == "CC0-1.0"
    assert spdx("our own terms") == spdx(None) == spdx("") == "unknown"
    assert hub_id("GPL-3.0-or-later") == "gpl-3.0" and hub_id("unknown") == "unknown"


def test_combine_follows_what_each_license_allows():
    demo = {"speakleash.a": "GPL-2.0-or-later", "speakleash.b": "GPL-3.0-or-later", "wikipedia": "CC-BY-SA-4.0"}
    c = combine(demo)
    assert (c.spdx, c.hub) == ("GPL-3.0-or-later", "gpl-3.0") and "CC-BY-SA-4.0" in c.why
    assert combine({"a": "MIT", "b": "CC0-1.0"}).spdx == "MIT"
    assert combine({"a": "CC-BY-SA-4.0"}).hub == "cc-by-sa-4.0"
    assert combine({"a": "GPL-2.0-only", "b": "GPL-3.0-or-later"}).hub == "other"  # 2.0-only cannot move
    assert combine({"a": "CC-BY-NC-4.0", "b": "GPL-3.0-or-later"}).hub == "other"
    unknown = combine({"a": "MIT", "local.notes": "unknown"})
    assert unknown.hub == "unknown" and "local.notes" in unknown.why
    assert by_license(demo) == {"CC-BY-SA-4.0": ["wikipedia"], "GPL-2.0-or-later": ["speakleash.a"],
                                "GPL-3.0-or-later": ["speakleash.b"]}
