"""CRC-32 as used by protocol v1.

Notes
-----
CRC-32/ISO-HDLC (the CRC of Ethernet, zlib and PNG): polynomial 0x04C11DB7,
reflected input and output, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. Check
value over the ASCII bytes ``123456789``: 0xCBF43926 (Williams 1993, "A painless
guide to CRC error detection algorithms"; the CRC RevEng catalogue).
"""

from __future__ import annotations

import binascii

__all__ = ["crc32"]


def crc32(data: bytes) -> int:
    """Return the CRC-32/ISO-HDLC of ``data`` as an unsigned 32-bit integer."""
    return binascii.crc32(data) & 0xFFFFFFFF
