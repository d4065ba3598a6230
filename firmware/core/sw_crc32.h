/*
 * CRC-32/ISO-HDLC (Ethernet, zlib, PNG) as protocol v1 section 2.2 specifies it:
 * polynomial 0x04C11DB7 reflected (0xEDB88320), initial value and final XOR 0xFFFFFFFF.
 * Check value of ASCII "123456789": 0xCBF43926 (Williams 1993, "A painless guide to CRC
 * error detection algorithms").
 */
#ifndef SW_CRC32_H
#define SW_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Initial register value; pass it to the first sw_crc32_update() call. */
#define SW_CRC32_INIT 0xFFFFFFFFUL

/* Feed n bytes into a running CRC register (not yet final-XORed). */
uint32_t sw_crc32_update(uint32_t reg, const uint8_t *data, size_t n);

/* Final CRC-32 of n bytes (init, update, final XOR in one call). */
uint32_t sw_crc32(const uint8_t *data, size_t n);

#endif /* SW_CRC32_H */
