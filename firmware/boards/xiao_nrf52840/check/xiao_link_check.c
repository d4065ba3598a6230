/*
 * Link check of the vendor-independent part of the XIAO port: the portable core and
 * xiao_board.c, wired to a port whose hooks do nothing, behind a minimal Cortex-M4 vector
 * table. It is never flashed; `make` links it to prove that everything resolves with the
 * Cortex-M4F flags and to report the size the sketch adds on top of the vendor core.
 */
#include <stdint.h>

#include "xiao_board.h"

extern uint32_t _stack_top;
extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end;
void Reset_Handler(void);
int main(void);

__attribute__((section(".vectors"), used)) static const uintptr_t vectors[2] = {
    (uintptr_t)&_stack_top,
    (uintptr_t)Reset_Handler,
};

void Reset_Handler(void)
{
    uint32_t *src = &_data_load;
    uint32_t *dst = &_data_start;
    while (dst < &_data_end) {
        *dst++ = *src++;
    }
    for (dst = &_bss_start; dst < &_bss_end; ++dst) {
        *dst = 0u;
    }
    (void)main();
    for (;;) {
    }
}

static volatile uint32_t sink;

static bool send(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    sink += frame[0] + (uint32_t)len;
    return true;
}

static void set_period(void *ctx, uint32_t period_us)
{
    (void)ctx;
    sink = period_us;
}

static void read_power(void *ctx, sw_power *out)
{
    (void)ctx;
    xiao_power((int16_t)sink, false, true, out);
}

static const sw_port port = {NULL, send, NULL, set_period, NULL, NULL, read_power};
static sw_device device;
static sw_slot ring[SW_XIAO_RING_SLOTS];
static xiao_rxq rxq;

int main(void)
{
    uint8_t regs[6] = {0};
    uint8_t adv[31];
    uint8_t bytes[32];
    int16_t counts[SW_XIAO_EMG_CHANNELS];
    int16_t xyz[3];
    if (!sw_device_init(&device, xiao_board(0x1A2Bu), &port, ring, SW_XIAO_RING_SLOTS)) {
        return 1;
    }
    sink += (uint32_t)xiao_adv_data(adv) + (uint32_t)xiao_scan_response(1u, adv);
    for (;;) {
        if (sw_device_isr_tick(&device)) {
            counts[0] = xiao_counts_from_saadc((int16_t)sink);
            counts[1] = xiao_counts_from_saadc((int16_t)(sink >> 4));
            sw_device_isr_sample(&device, counts);
        }
        size_t n = xiao_rxq_get(&rxq, bytes, sizeof bytes);
        sw_device_rx(&device, bytes, n);
        sw_device_poll(&device);
        xiao_imu_to_body(regs, xyz);
        sw_device_accel(&device, sw_device_now_us(&device), xyz);
    }
}
