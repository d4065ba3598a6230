"""Consistent Overhead Byte Stuffing (COBS).

Notes
-----
COBS (Cheshire & Baker, 1999, "Consistent Overhead Byte Stuffing", IEEE/ACM
Transactions on Networking 7(2):159-169) removes every 0x00 byte from a block at a
cost of at most one byte per 254, so that 0x00 can delimit frames and a receiver
resynchronises at the next delimiter after any corruption.
"""

from __future__ import annotations

__all__ = ["CobsError", "cobs_decode", "cobs_encode"]


class CobsError(ValueError):
    """A byte block is not valid COBS."""


def cobs_encode(data: bytes) -> bytes:
    """Encode ``data`` with COBS (no trailing delimiter).

    Parameters
    ----------
    data : bytes
        Any bytes, zeros included.

    Returns
    -------
    bytes
        The stuffed block; it contains no 0x00 byte and is ``len(data) + 1 +
        len(data) // 254`` bytes long at most.
    """
    out = bytearray()
    start = 0
    n = len(data)
    while True:
        # Longest run of up to 254 non-zero bytes starting at ``start``.
        zero = data.find(b"\x00", start, start + 254)
        if zero == -1:
            end = min(start + 254, n)
            out.append(end - start + 1)
            out += data[start:end]
            if end == n:
                break
            if end - start == 254:
                start = end
                if start == n:
                    # A full 254-byte run ends the data exactly: nothing follows.
                    break
                continue
        else:
            out.append(zero - start + 1)
            out += data[start:zero]
            start = zero + 1
            if start == n:
                # The data ends with a zero: the implicit zero of a final 0x01 code.
                out.append(1)
                break
    return bytes(out)


def cobs_decode(block: bytes) -> bytes:
    """Decode one COBS block (without its 0x00 delimiter).

    Parameters
    ----------
    block : bytes
        The stuffed bytes between two delimiters.

    Returns
    -------
    bytes
        The original data.

    Raises
    ------
    CobsError
        If the block is empty, contains a 0x00 byte, or a code byte points past the
        end of the block.
    """
    if not block:
        raise CobsError("empty COBS block: expected at least one code byte")
    out = bytearray()
    i = 0
    n = len(block)
    while i < n:
        code = block[i]
        if code == 0:
            raise CobsError(f"0x00 inside a COBS block at offset {i}: expected non-zero bytes")
        end = i + code
        if end > n:
            raise CobsError(
                f"COBS code 0x{code:02x} at offset {i} needs {code - 1} data bytes, "
                f"only {n - i - 1} remain (truncated or corrupt frame)"
            )
        chunk = block[i + 1 : end]
        if 0 in chunk:
            raise CobsError(f"0x00 inside a COBS block near offset {i}: expected non-zero bytes")
        out += chunk
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)
