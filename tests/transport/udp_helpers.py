"""What tests of a connected UDP socket's frames share."""

from __future__ import annotations

from usernet.wire.checksum import csum_partial


def numbered(frames: list[bytes]) -> list[bytes]:
    """The frames of one connected socket, which numbers its datagrams (IP
    ID +1 each): check the numbering and each header's checksum, and return
    the frames without those two fields, for comparing roads."""
    ids = [int.from_bytes(f[18:20], "big") for f in frames]
    assert ids == [(ids[0] + i) & 0xFFFF for i in range(len(frames))]
    assert all(csum_partial(f[14:34]) == 0xFFFF for f in frames)
    return [f[:18] + f[20:24] + f[26:] for f in frames]
