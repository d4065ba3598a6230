/*
 * Host-compiled probe of xiao_board.c for tests/firmware/test_cortex_m_xiao.py: prints, one
 * per line, what the board logic computes for fixed inputs, and the test compares it with
 * docs/protocol.md and host/protocol/gatt.py.
 */
#include <stdio.h>

#include "xiao_board.h"

static void hex_line(const char *name, const uint8_t *p, size_t n)
{
    printf("%s", name);
    for (size_t i = 0; i < n; ++i) {
        printf("%s%02x", i == 0 ? " " : "", p[i]);
    }
    printf("\n");
}

int main(void)
{
    uint8_t buf[31];
    char text[20];
    const sw_board *b = xiao_board(0x0123456789AB1A2Bull);

    hex_line("adv", buf, xiao_adv_data(buf));
    hex_line("scan", buf, xiao_scan_response(0x0123456789AB1A2Bull, buf));
    for (unsigned i = 0; i < 3; ++i) {
        uint8_t uuid[16];
        char name[8];
        xiao_uuid_le(i, uuid);
        snprintf(name, sizeof name, "uuid%u", i);
        hex_line(name, uuid, sizeof uuid);
    }
    xiao_ble_name(0x0123456789AB1A2Bull, text);
    printf("name %s\n", text);
    xiao_serial_string(0x0123456789AB1A2Bull, text);
    printf("serial %s\n", text);
    xiao_firmware_string(text);
    printf("firmware %s\n", text);
    printf("board %s %u %u %.6f %.4f %lu\n", b->board, b->emg_channels, b->adc_bits,
           (double)b->vref_v, (double)b->gain, (unsigned long)b->default_rate_mhz);

    for (int raw = -8; raw <= 4100; raw += 1) {
        if (raw == -8 || raw == 0 || raw == 2048 || raw == 4095 || raw == 4100) {
            printf("counts %d %d\n", raw, xiao_counts_from_saadc((int16_t)raw));
        }
    }
    for (int raw = 0; raw <= 2000; raw += 250) {
        printf("vbat %d %u\n", raw, xiao_battery_mv((int16_t)raw));
    }
    for (unsigned mv = 3200; mv <= 4300; mv += 50) {
        printf("pct %u %u\n", mv, xiao_battery_pct((uint16_t)mv));
    }
    {
        const uint8_t regs[6] = {0x10, 0x00, 0x00, 0x80, 0xFF, 0x7F}; /* X 16, Y -32768, Z 32767 */
        int16_t xyz[3];
        xiao_imu_to_body(regs, xyz);
        printf("imu %d %d %d\n", xyz[0], xyz[1], xyz[2]);
    }
    for (unsigned mtu = 23; mtu <= 247; mtu += 224) {
        size_t off = 0;
        printf("chunks %u", mtu);
        for (size_t c; (c = xiao_notify_chunk(227, off, (uint16_t)mtu)) != 0; off += c) {
            printf(" %zu", c);
        }
        printf("\n");
    }
    {
        static xiao_rxq q;
        uint8_t in[300], out[300];
        for (size_t i = 0; i < sizeof in; ++i) {
            in[i] = (uint8_t)i;
        }
        xiao_rxq_put(&q, in, sizeof in);
        size_t got = xiao_rxq_get(&q, out, sizeof out);
        int same = 1;
        for (size_t i = 0; i < got; ++i) {
            same &= out[i] == in[i];
        }
        printf("rxq %zu %lu %d\n", got, (unsigned long)q.dropped, same);
    }
    return 0;
}
