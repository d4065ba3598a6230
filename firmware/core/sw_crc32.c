/* CRC-32/ISO-HDLC, four bits at a time with a 16-entry table (64 bytes): a compromise
 * between the bitwise loop (no table, slowest) and the 1 KiB byte table, which would take
 * half the RAM of an 8-bit MCU. */
#include "sw_crc32.h"

static const uint32_t nibble_table[16] = {
    0x00000000UL, 0x1DB71064UL, 0x3B6E20C8UL, 0x26D930ACUL, 0x76DC4190UL, 0x6B6B51F4UL,
    0x4DB26158UL, 0x5005713CUL, 0xEDB88320UL, 0xF00F9344UL, 0xD6D6A3E8UL, 0xCB61B38CUL,
    0x9B64C2B0UL, 0x86D3D2D4UL, 0xA00AE278UL, 0xBDBDF21CUL,
};

uint32_t sw_crc32_update(uint32_t reg, const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        reg ^= data[i];
        reg = (reg >> 4) ^ nibble_table[reg & 0x0Fu];
        reg = (reg >> 4) ^ nibble_table[reg & 0x0Fu];
    }
    return reg;
}

uint32_t sw_crc32(const uint8_t *data, size_t n)
{
    return sw_crc32_update(SW_CRC32_INIT, data, n) ^ 0xFFFFFFFFUL;
}
