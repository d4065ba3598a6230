/*
 * Consistent Overhead Byte Stuffing (Cheshire & Baker 1999), protocol v1 section 2.1.
 *
 * The encoder splits the input at each 0x00 byte and after every run of 254 non-zero bytes;
 * each piece becomes a code byte (1 + its length) followed by its non-zero bytes. 0xFF means
 * "254 bytes follow, no zero implied".
 */
#ifndef SW_COBS_H
#define SW_COBS_H

#include <stddef.h>
#include <stdint.h>

/* Largest encoded length of n input bytes: n + 1 + n / 254. */
#define SW_COBS_MAX_ENCODED(n) ((n) + 1u + (n) / 254u)

/* Returned by sw_cobs_decode() for an invalid block. */
#define SW_COBS_ERROR ((size_t)-1)

/*
 * Encode n bytes of src into dst (room for SW_COBS_MAX_ENCODED(n) bytes, must not overlap
 * src). No delimiter is appended. Returns the encoded length.
 */
size_t sw_cobs_encode(const uint8_t *src, size_t n, uint8_t *dst);

/*
 * Encode in place: the n input bytes are at buf[1..n] (buf[0] is scratch), the encoding is
 * written to buf[0..n]. Valid for n <= 253 (no 0xFF code can occur, so the encoding is
 * exactly n + 1 bytes and never overtakes the input). Returns n + 1, or 0 if n > 253.
 */
size_t sw_cobs_encode_inplace(uint8_t *buf, size_t n);

/*
 * Decode a block of n bytes (delimiter excluded) into dst (room for n bytes; dst may equal
 * src). Returns the decoded length, or SW_COBS_ERROR if the block contains 0x00 or a code
 * byte points past its end.
 */
size_t sw_cobs_decode(const uint8_t *src, size_t n, uint8_t *dst);

#endif /* SW_COBS_H */
