/* Board logic of the XIAO nRF52840 Sense port that needs no vendor headers (xiao_board.h). */
#include "xiao_board.h"

#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const channel_names[SW_XIAO_EMG_CHANNELS] = {"EMG L", "EMG R"};
/* 1 kHz (default), 500 Hz and 250 Hz: sample periods of 1000, 2000 and 4000 us. */
static const uint32_t rates_mhz[] = {1000000u, 500000u, 250000u};

static sw_board board_desc;

float xiao_adc_span_v(void)
{
#if SW_XIAO_ADC_SPAN_VDD
    return 3.3f; /* VDD/4 reference x gain 1/4 = VDD, 3.3 V nominal on the XIAO */
#else
    return 3.0f; /* 0.6 V internal reference / gain 1/5 */
#endif
}

float xiao_total_gain(void)
{
#if SW_XIAO_ADC_SPAN_VDD
    return SW_XIAO_FRONT_END_GAIN;
#else
    return SW_XIAO_FRONT_END_GAIN * SW_XIAO_DIVIDER_BOTTOM_OHM /
           (SW_XIAO_DIVIDER_TOP_OHM + SW_XIAO_DIVIDER_BOTTOM_OHM);
#endif
}

const sw_board *xiao_board(uint64_t device_id)
{
    sw_board *b = &board_desc;
    memset(b, 0, sizeof *b);
    b->firmware_version[0] = SW_XIAO_FIRMWARE_MAJOR;
    b->firmware_version[1] = SW_XIAO_FIRMWARE_MINOR;
    b->firmware_version[2] = SW_XIAO_FIRMWARE_PATCH;
    b->device_id = device_id;
    b->emg_channels = SW_XIAO_EMG_CHANNELS;
    b->adc_bits = SW_XIAO_ADC_BITS;
    b->adc_bipolar = 0;
    b->vref_v = xiao_adc_span_v();
    b->gain = xiao_total_gain();
    b->accel_sfreq_mhz = 1000000000u / SW_XIAO_ACCEL_PERIOD_US;
    b->accel_g_per_count = SW_LSM6_G_PER_COUNT;
    b->accel_per_frame = 10;
    b->samples_per_frame = 50;
    b->board = "xiao-nrf52840-sense";
    b->channel_names = channel_names;
    b->rates_mhz = rates_mhz;
    b->n_rates = (uint8_t)(sizeof rates_mhz / sizeof rates_mhz[0]);
    b->default_rate_mhz = rates_mhz[0];
    b->status_interval_us = 1000000u;
    return b;
}

int16_t xiao_counts_from_saadc(int16_t raw)
{
    const int16_t top = (int16_t)((1 << SW_XIAO_ADC_BITS) - 1);
    if (raw < 0) {
        raw = 0; /* single-ended results can read a few codes below 0 V */
    } else if (raw > top) {
        raw = top;
    }
    return sw_counts_from_unipolar((uint16_t)raw, SW_XIAO_ADC_BITS);
}

uint16_t xiao_battery_mv(int16_t raw)
{
    /* The battery channel always uses the 0..3.0 V span. */
    uint32_t code = raw < 0 ? 0u : (uint32_t)raw;
    uint64_t num = (uint64_t)code * 3000u * (SW_XIAO_VBAT_TOP_OHM + SW_XIAO_VBAT_BOTTOM_OHM);
    uint64_t den = (uint64_t)(1u << SW_XIAO_ADC_BITS) * SW_XIAO_VBAT_BOTTOM_OHM;
    uint64_t mv = (num + den / 2u) / den;
    return mv > 0xFFFFu ? 0xFFFFu : (uint16_t)mv;
}

uint8_t xiao_battery_pct(uint16_t mv)
{
    /* Approximate open-circuit voltage of a LiPo cell vs state of charge (typical curve). */
    static const uint16_t mv_at[] = {3300, 3500, 3600, 3650, 3700, 3750, 3800, 3900, 4000,
                                     4100, 4200};
    static const uint8_t pct_at[] = {0, 5, 12, 20, 30, 40, 50, 65, 78, 90, 100};
    const size_t n = sizeof mv_at / sizeof mv_at[0];
    if (mv <= mv_at[0]) {
        return 0;
    }
    if (mv >= mv_at[n - 1]) {
        return 100;
    }
    for (size_t i = 1; i < n; ++i) {
        if (mv < mv_at[i]) {
            uint32_t span = (uint32_t)(mv_at[i] - mv_at[i - 1]);
            uint32_t into = (uint32_t)(mv - mv_at[i - 1]);
            return (uint8_t)(pct_at[i - 1] + ((pct_at[i] - pct_at[i - 1]) * into) / span);
        }
    }
    return 100;
}

void xiao_power(int16_t vbat_raw, bool charging, bool usb_power, sw_power *out)
{
    uint16_t mv = xiao_battery_mv(vbat_raw);
    out->battery_mv = mv;
    out->battery_pct = xiao_battery_pct(mv);
    out->flags = 0;
    if (charging) {
        out->flags |= SW_STATUS_CHARGING;
    }
    if (usb_power) {
        out->flags |= SW_STATUS_USB_POWER;
    }
    if (!usb_power && mv < SW_XIAO_BATTERY_LOW_MV) {
        out->flags |= SW_STATUS_BATTERY_LOW;
    }
    out->lead_off_mask = 0; /* the BioAmp EXG Pill has no lead-off detection */
}

static int16_t signed_axis(int16_t v, int sign)
{
    if (sign > 0) {
        return v;
    }
    return v == INT16_MIN ? INT16_MAX : (int16_t)-v;
}

void xiao_imu_to_body(const uint8_t out_regs[6], int16_t xyz[3])
{
    static const int map[3][2] = SW_XIAO_AXIS_MAP;
    int16_t imu[3];
    for (int i = 0; i < 3; ++i) {
        imu[i] = (int16_t)(uint16_t)(out_regs[2 * i] | (out_regs[2 * i + 1] << 8));
    }
    for (int i = 0; i < 3; ++i) {
        xyz[i] = signed_axis(imu[map[i][0]], map[i][1]);
    }
}

void xiao_uuid_le(unsigned which, uint8_t out[16])
{
    /* 472a000N-3a20-47c3-a6a5-242350c64704, least significant byte first. */
    static const uint8_t base[16] = {0x04, 0x47, 0xC6, 0x50, 0x23, 0x24, 0xA5, 0xA6,
                                     0xC3, 0x47, 0x20, 0x3A, 0x01, 0x00, 0x2A, 0x47};
    memcpy(out, base, sizeof base);
    out[12] = (uint8_t)(which + 1u);
}

size_t xiao_adv_data(uint8_t out[31])
{
    size_t n = 0;
    out[n++] = 0x02; /* length */
    out[n++] = 0x01; /* Flags */
    out[n++] = 0x06; /* LE General Discoverable, BR/EDR not supported */
    out[n++] = 0x11; /* length: type + 16 bytes */
    out[n++] = 0x07; /* Complete List of 128-bit Service UUIDs */
    xiao_uuid_le(0, &out[n]);
    n += 16;
    return n;
}

static const char hex_digits[] = "0123456789ABCDEF";

void xiao_ble_name(uint64_t device_id, char out[16])
{
    static const char prefix[] = "spasmwatch-";
    memcpy(out, prefix, sizeof prefix - 1u);
    for (int i = 0; i < 4; ++i) {
        out[11 + i] = hex_digits[(device_id >> (12 - 4 * i)) & 0xFu];
    }
    out[15] = '\0';
}

size_t xiao_scan_response(uint64_t device_id, uint8_t out[31])
{
    char name[16];
    xiao_ble_name(device_id, name);
    out[0] = 16; /* length: type + 15 characters */
    out[1] = 0x09; /* Complete Local Name */
    memcpy(&out[2], name, 15);
    return 17;
}

void xiao_serial_string(uint64_t device_id, char out[17])
{
    for (int i = 0; i < 16; ++i) {
        out[i] = hex_digits[(device_id >> (60 - 4 * i)) & 0xFu];
    }
    out[16] = '\0';
}

void xiao_firmware_string(char out[12])
{
    static const char version[] = STR(SW_XIAO_FIRMWARE_MAJOR) "." STR(
        SW_XIAO_FIRMWARE_MINOR) "." STR(SW_XIAO_FIRMWARE_PATCH);
    memcpy(out, version, sizeof version);
}

size_t xiao_notify_chunk(size_t frame_len, size_t offset, uint16_t att_mtu)
{
    size_t room;
    if (offset >= frame_len) {
        return 0;
    }
    room = att_mtu >= 247u ? SW_MAX_ENCODED : (att_mtu > 3u ? (size_t)att_mtu - 3u : 0u);
    if (room == 0) {
        return 0;
    }
    return frame_len - offset < room ? frame_len - offset : room;
}

void xiao_rxq_put(xiao_rxq *q, const uint8_t *data, size_t n)
{
    uint32_t head = q->head;
    for (size_t i = 0; i < n; ++i) {
        if (head - q->tail >= SW_XIAO_RXQ_SIZE) {
            q->dropped += (uint32_t)(n - i);
            break;
        }
        q->buf[head % SW_XIAO_RXQ_SIZE] = data[i];
        ++head;
    }
    q->head = head; /* publish after the bytes are written */
}

size_t xiao_rxq_get(xiao_rxq *q, uint8_t *out, size_t n)
{
    uint32_t tail = q->tail;
    size_t got = 0;
    while (got < n && tail != q->head) {
        out[got++] = q->buf[tail % SW_XIAO_RXQ_SIZE];
        ++tail;
    }
    q->tail = tail;
    return got;
}
