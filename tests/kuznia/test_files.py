"""`kuznia.files.punch_hole`: the disk blocks of a range go back, the bytes there read as zeros,
the size and every other byte stay."""

from __future__ import annotations

import os

import pytest

from kuznia.files import punch_hole

MIB = 1 << 20


def test_a_punched_range_reads_as_zeros_and_frees_its_blocks(tmp_path):
    path = tmp_path / "f.bin"
    data = os.urandom(8 * MIB)
    path.write_bytes(data)
    os.sync()
    before = os.stat(path).st_blocks
    if not punch_hole(path, 2 * MIB + 5, 4 * MIB):
        pytest.skip("this file system cannot punch holes")  # then the caller keeps the blocks
    after = path.read_bytes()
    assert len(after) == len(data)
    assert after[: 2 * MIB + 5] == data[: 2 * MIB + 5] and after[6 * MIB + 5 :] == data[6 * MIB + 5 :]
    assert not after[2 * MIB + 5 : 6 * MIB + 5].strip(b"\0")
    assert os.stat(path).st_blocks <= before - (3 * MIB) // 512


def test_nothing_to_punch_changes_nothing(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert punch_hole(path, 1, 0) is False and path.read_bytes() == b"abc"
