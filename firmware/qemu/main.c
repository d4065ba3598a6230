/*
 * spasmwatch on QEMU's mps2-an385 (Cortex-M3): the portable core (firmware/core) on an
 * emulated board, for firmware-in-the-loop tests of the Cortex-M build.
 *
 * The "board":
 *   - SysTick, clocked by the 25 MHz CPU clock, interrupts once per sample period and
 *     drives the core's sampler (sw_device_isr_tick / sw_device_isr_sample).
 *   - The "ADC" is a signal file read over ARM semihosting at start-up: raw unipolar 12-bit
 *     codes (u16 little-endian, 2 channels interleaved, one sample time per millisecond of
 *     device time). A conversion at device time t returns the row (t / 1000 us) modulo the
 *     number of rows, so the host can check every sample it decodes against the file from
 *     the device time in the frames alone.
 *   - The accelerometer is a second file (i16 little-endian x, y, z counts, one row per
 *     10 ms); the main loop hands row t / 10000 us to the core at every 10 ms of device time.
 *   - Frames go out on CMSDK UART0 (0x40004000), which QEMU connects to a TCP socket;
 *     commands come back the same way.
 *
 * QEMU command line: see firmware/qemu/README.md.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmsdk_uart.h"
#include "semihost.h"
#include "sw_device.h"

#define CPU_HZ 25000000u      /* MPS2 AN385 system clock */
#define ADC_BITS 12u
#define N_CHANNELS 2u
#define RING_SLOTS 256u       /* 256 ms at 1 kHz */
#define MAX_EMG_ROWS (512u * 1024u)
#define MAX_ACCEL_ROWS (64u * 1024u)
#define ACCEL_PERIOD_US 10000u

/* SysTick (ARMv7-M ARM, B3.3). */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE 0x1u
#define SYST_CSR_TICKINT 0x2u
#define SYST_CSR_CLKSOURCE 0x4u /* 1: processor clock */

static const char *const channel_names[N_CHANNELS] = {"EMG L", "EMG R"};
static const uint32_t rates_mhz[] = {1000000u, 500000u};

static const sw_board board = {
    .firmware_version = {0, 1, 0},
    .device_id = 0x5357514D55000001ull, /* "SWQMU" + 1 */
    .emg_channels = N_CHANNELS,
    .adc_bits = ADC_BITS,
    .adc_bipolar = 0,
    .vref_v = 3.0f,   /* the XIAO wearable's SAADC span */
    .gain = 1440.0f,  /* front end 2420 x divider 0.595 */
    .accel_sfreq_mhz = 100000u,
    .accel_g_per_count = 0.000061f, /* LSM6DS3TR-C at +-2 g */
    .accel_per_frame = 10,
    .samples_per_frame = 50,
    .board = "qemu-mps2-an385",
    .channel_names = channel_names,
    .rates_mhz = rates_mhz,
    .n_rates = (uint8_t)(sizeof rates_mhz / sizeof rates_mhz[0]),
    .default_rate_mhz = 1000000u,
    .status_interval_us = 1000000u,
};

static sw_device device;
static sw_slot ring_slots[RING_SLOTS];
static uint16_t emg_rows[MAX_EMG_ROWS * N_CHANNELS] __attribute__((section(".noinit")));
static int16_t accel_rows[MAX_ACCEL_ROWS * 3u] __attribute__((section(".noinit")));
static uint32_t n_emg_rows;
static uint32_t n_accel_rows;

/* ------------------------------------------------------------------ port */

static bool port_send(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    cmsdk_uart_write(CMSDK_UART0_BASE, frame, len);
    return true;
}

static void port_set_period(void *ctx, uint32_t period_us)
{
    (void)ctx;
    SYST_CSR = 0u;
    SYST_RVR = (CPU_HZ / 1000000u) * period_us - 1u;
    SYST_CVR = 0u;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE;
}

static void port_irq_lock(void *ctx)
{
    (void)ctx;
    __asm__ volatile("cpsid i" ::: "memory");
}

static void port_irq_unlock(void *ctx)
{
    (void)ctx;
    __asm__ volatile("cpsie i" ::: "memory");
}

static void port_read_power(void *ctx, sw_power *out)
{
    (void)ctx;
    out->battery_mv = 0u;   /* no battery on the emulated board */
    out->battery_pct = 255u;
    out->flags = SW_STATUS_USB_POWER;
    out->lead_off_mask = 0u;
}

static const sw_port port = {
    .ctx = NULL,
    .send = port_send,
    .link_ready = NULL,
    .set_period = port_set_period,
    .irq_lock = port_irq_lock,
    .irq_unlock = port_irq_unlock,
    .read_power = port_read_power,
};

/* ------------------------------------------------------------------ sampling */

void SysTick_Handler(void)
{
    if (sw_device_isr_tick(&device)) {
        /* The conversion of the sample time due now: the file row at this device time. */
        uint32_t row = (device.isr_clock_us / 1000u) % n_emg_rows;
        int16_t counts[N_CHANNELS];
        for (uint32_t c = 0; c < N_CHANNELS; ++c) {
            counts[c] = sw_counts_from_unipolar(emg_rows[row * N_CHANNELS + c], ADC_BITS);
        }
        sw_device_isr_sample(&device, counts);
    }
}

/* ------------------------------------------------------------------ start-up */

static void fail(const char *why)
{
    semihost_write0("spasmwatch-qemu: ");
    semihost_write0(why);
    semihost_write0("\n");
    semihost_exit(2);
}

/* Next whitespace-separated word of the command line; NUL-terminates it in place. */
static char *next_word(char **cursor)
{
    char *p = *cursor;
    while (*p == ' ') {
        ++p;
    }
    if (*p == '\0') {
        return NULL;
    }
    char *word = p;
    while (*p != '\0' && *p != ' ') {
        ++p;
    }
    if (*p == ' ') {
        *p++ = '\0';
    }
    *cursor = p;
    return word;
}

/* Load a whole file of `row_bytes`-byte rows into buf; returns the number of rows. */
static uint32_t load_rows(const char *path, void *buf, uint32_t row_bytes, uint32_t max_rows)
{
    int handle = semihost_open_rb(path);
    if (handle < 0) {
        fail("cannot open a signal file (semihosting SYS_OPEN failed)");
    }
    long len = semihost_flen(handle);
    if (len <= 0 || (uint32_t)len % row_bytes != 0u) {
        fail("a signal file is empty or not a whole number of rows");
    }
    uint32_t rows = (uint32_t)len / row_bytes;
    if (rows > max_rows) {
        fail("a signal file is too long");
    }
    if (semihost_read(handle, buf, (size_t)len) != (size_t)len) {
        fail("short read from a signal file");
    }
    semihost_close(handle);
    return rows;
}

static void load_signals(void)
{
    static char cmdline[512];
    if (semihost_cmdline(cmdline, sizeof cmdline) != 0) {
        fail("no command line: pass arg=<program>,arg=<emg file>,arg=<accel file>");
    }
    char *cursor = cmdline;
    (void)next_word(&cursor); /* program name */
    const char *emg_path = next_word(&cursor);
    const char *accel_path = next_word(&cursor);
    if (emg_path == NULL || accel_path == NULL) {
        fail("usage: <program> <emg file> <accel file>");
    }
    n_emg_rows = load_rows(emg_path, emg_rows, N_CHANNELS * 2u, MAX_EMG_ROWS);
    n_accel_rows = load_rows(accel_path, accel_rows, 3u * 2u, MAX_ACCEL_ROWS);
}

int main(void)
{
    load_signals();
    /* 25 MHz / 115200 baud; QEMU does not pace the UART by it, a real board would. */
    cmsdk_uart_init(CMSDK_UART0_BASE, CPU_HZ / 115200u);
    if (!sw_device_init(&device, &board, &port, ring_slots, RING_SLOTS)) {
        fail("sw_device_init rejected the board description");
    }

    uint64_t next_accel_us = ACCEL_PERIOD_US;
    for (;;) {
        uint8_t rx[SW_RX_MAX];
        size_t n = 0;
        while (n < sizeof rx && cmsdk_uart_read(CMSDK_UART0_BASE, &rx[n])) {
            ++n;
        }
        if (n > 0) {
            sw_device_rx(&device, rx, n);
        }
        sw_device_poll(&device);

        uint64_t now = sw_device_now_us(&device);
        while (now >= next_accel_us) {
            uint32_t row = (uint32_t)((next_accel_us / ACCEL_PERIOD_US) % n_accel_rows);
            sw_device_accel(&device, next_accel_us, &accel_rows[row * 3u]);
            next_accel_us += ACCEL_PERIOD_US;
        }
        if (n == 0 && sw_ring_count(&device.ring) == 0u) {
            __asm__ volatile("wfi");
        }
    }
}
