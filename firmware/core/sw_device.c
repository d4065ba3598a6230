/* Device state machine: sampler, sender, command handler, device information. */
#include "sw_device.h"

#include <string.h>

#include "sw_protocol.h"

/* ------------------------------------------------------------------ helpers */

static uint32_t read_stable(const volatile uint32_t *p)
{
    /* A 32-bit load is not atomic on an 8-bit MCU; the interrupt only ever moves the value
     * forward, so two equal consecutive reads are a consistent one. */
    uint32_t a = *p;
    uint32_t b = *p;
    while (a != b) {
        a = b;
        b = *p;
    }
    return a;
}

static void lock(const sw_device *d)
{
    if (d->port->irq_lock != NULL) {
        d->port->irq_lock(d->port->ctx);
    }
}

static void unlock(const sw_device *d)
{
    if (d->port->irq_unlock != NULL) {
        d->port->irq_unlock(d->port->ctx);
    }
}

static uint32_t next_seq(sw_device *d)
{
    return d->seq++; /* wraps from 2^32 - 1 to 0 */
}

static uint8_t *payload(sw_device *d)
{
    return d->frame + 1; /* sw_frame_finish() encodes in place from frame[0] */
}

/* Encode the payload of `len` bytes in d->frame and hand it to the link. */
static void send_payload(sw_device *d, size_t len, uint32_t n_samples)
{
    size_t n = sw_frame_finish(d->frame, len);
    if (n == 0) {
        return; /* a builder rejected its arguments: nothing valid to send */
    }
    if (d->port->send(d->port->ctx, d->frame, n)) {
        ++d->frames_sent;
    } else {
        ++d->frames_refused;
        d->overflow_link += n_samples;
    }
}

/* Bounded string builder for reply messages. */
typedef struct text {
    char buf[SW_MAX_MESSAGE_LEN + 1];
    uint8_t n;
} text;

static void text_put(text *t, const char *s)
{
    while (*s != '\0' && t->n < SW_MAX_MESSAGE_LEN) {
        t->buf[t->n++] = *s++;
    }
    t->buf[t->n] = '\0';
}

static void text_uint(text *t, uint32_t v)
{
    char digits[11];
    uint8_t k = 0;
    do {
        digits[k++] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0 && k < sizeof digits);
    while (k > 0 && t->n < SW_MAX_MESSAGE_LEN) {
        t->buf[t->n++] = digits[--k];
    }
    t->buf[t->n] = '\0';
}

static void text_hex8(text *t, uint8_t v)
{
    static const char hex[] = "0123456789abcdef";
    char s[3];
    s[0] = hex[v >> 4];
    s[1] = hex[v & 0x0Fu];
    s[2] = '\0';
    text_put(t, s);
}

/* A rate in mHz as Hz: "1000", or "12.5" for a fractional rate. */
static void text_rate(text *t, uint32_t mhz)
{
    uint32_t frac = mhz % 1000u;
    text_uint(t, mhz / 1000u);
    if (frac != 0) {
        uint8_t k;
        char s[5];
        s[0] = '.';
        for (k = 3; k > 0; --k) {
            s[k] = (char)('0' + frac % 10u);
            frac /= 10u;
        }
        s[4] = '\0';
        for (k = 3; k > 1 && s[k] == '0'; --k) {
            s[k] = '\0';
        }
        text_put(t, s);
    }
}

/* ------------------------------------------------------------------ clock */

uint64_t sw_device_now_us(sw_device *d)
{
    uint32_t lo = read_stable(&d->isr_clock_us);
    if (lo < d->clock_last) {
        ++d->clock_hi; /* the 32-bit interrupt clock wrapped (every 71.6 minutes) */
    }
    d->clock_last = lo;
    return ((uint64_t)d->clock_hi << 32) | lo;
}

/* 64-bit device time of a slot stamped with the low 32 bits t (within +-35 min of now). */
static uint64_t extend_time(sw_device *d, uint32_t t)
{
    uint64_t now = sw_device_now_us(d);
    int32_t delta = (int32_t)(t - d->clock_last);
    return (uint64_t)((int64_t)now + delta);
}

/* ------------------------------------------------------------------ frames */

static void send_device_info(sw_device *d)
{
    const sw_board *b = d->board;
    sw_device_info info;
    size_t len;
    memcpy(info.firmware_version, b->firmware_version, 3);
    info.device_id = b->device_id;
    info.emg_sfreq_mhz = d->rate_mhz;
    info.emg_channels = b->emg_channels;
    info.emg_format = SW_FORMAT_I16;
    info.adc_bits = b->adc_bits;
    info.adc_bipolar = b->adc_bipolar;
    info.vref_v = b->vref_v;
    info.gain = b->gain;
    info.accel_sfreq_mhz = b->accel_sfreq_mhz;
    info.accel_g_per_count = b->accel_g_per_count;
    info.samples_per_frame = b->samples_per_frame;
    info.board = b->board;
    info.channel_names = b->channel_names;
    len = sw_build_device_info(payload(d), next_seq(d), sw_device_now_us(d), &info);
    send_payload(d, len, 0);
}

static void send_status(sw_device *d)
{
    sw_status st;
    sw_power power;
    size_t len;
    power.battery_mv = 0;
    power.battery_pct = 255;
    power.flags = 0;
    power.lead_off_mask = 0;
    if (d->port->read_power != NULL) {
        d->port->read_power(d->port->ctx, &power);
    }
    st.battery_mv = power.battery_mv;
    st.battery_pct = power.battery_pct;
    st.flags = (uint8_t)((power.flags & (SW_STATUS_CHARGING | SW_STATUS_USB_POWER |
                                         SW_STATUS_BATTERY_LOW)) |
                         (d->streaming ? SW_STATUS_STREAMING : 0u));
    st.lead_off_mask = power.lead_off_mask;
    st.saturation_mask = d->saturation_mask;
    st.overflow_samples = sw_device_overflow_samples(d);
    d->saturation_mask = 0;
    len = sw_build_status(payload(d), next_seq(d), sw_device_now_us(d), &st);
    send_payload(d, len, 0);
}

static void send_reply(sw_device *d, uint8_t command, uint32_t request_seq, uint8_t result,
                       const char *message)
{
    size_t len = sw_build_reply(payload(d), next_seq(d), sw_device_now_us(d), command,
                                request_seq, result, message);
    send_payload(d, len, 0);
}

/*
 * Move sample times from the ring into SAMPLES frames: whole frames of samples_per_frame
 * contiguous sample times, a shorter frame before a gap (ring overflow) and, with `flush`,
 * whatever is left.
 */
static void pump_samples(sw_device *d, bool flush)
{
    const sw_board *b = d->board;
    const uint8_t ch = b->emg_channels;
    for (;;) {
        uint32_t n = sw_ring_count(&d->ring);
        uint32_t k;
        sw_slot first;
        sw_slot s;
        uint8_t *p;
        uint8_t *out;
        if (n == 0 || !sw_ring_peek(&d->ring, 0, &first)) {
            return;
        }
        if (!d->have_next) {
            if ((int32_t)(first.t_us - d->accept_after_us) <= 0) {
                sw_ring_pop(&d->ring, 1); /* converted before this stream started */
                continue;
            }
            d->have_next = true;
            d->next_index = 0;
            d->next_t_us = first.t_us;
        } else if (first.t_us != d->next_t_us) {
            uint32_t late = first.t_us - d->next_t_us;
            if ((int32_t)late < 0) {
                sw_ring_pop(&d->ring, 1); /* cannot happen with one producer; be safe */
                continue;
            }
            /* Sample times the ring had no room for: a gap in first_sample. */
            d->next_index += late / d->period_us;
            d->next_t_us = first.t_us;
        }
        for (k = 1; k < b->samples_per_frame && k < n; ++k) {
            if (!sw_ring_peek(&d->ring, k, &s) || s.t_us != first.t_us + k * d->period_us) {
                break;
            }
        }
        if (k < b->samples_per_frame && k == n && !flush && n <= d->ring.mask) {
            return; /* wait for the rest of the frame (unless the ring is full) */
        }
        p = payload(d);
        sw_put_header(p, SW_TYPE_SAMPLES, next_seq(d), extend_time(d, first.t_us));
        p[SW_HEADER_LEN + 0] = ch;                         /* u8 channel_count */
        p[SW_HEADER_LEN + 1] = (uint8_t)SW_FORMAT_I16;     /* u8 sample_format */
        p[SW_HEADER_LEN + 2] = (uint8_t)k;                 /* u8 sample_count */
        sw_put_u32(p + SW_HEADER_LEN + 3, d->next_index);  /* u32 first_sample */
        out = p + SW_HEADER_LEN + SW_BLOCK_HEADER_LEN;
        {
            uint32_t i;
            uint8_t c;
            for (i = 0; i < k; ++i) {
                (void)sw_ring_peek(&d->ring, i, &s);
                for (c = 0; c < ch; ++c) {
                    int16_t v = s.counts[c];
                    if (v <= d->count_min || v >= d->count_max) {
                        d->saturation_mask = (uint8_t)(d->saturation_mask | (1u << c)); /* clipped */
                    }
                    sw_put_u16(out, (uint16_t)v); /* i16, interleaved by time */
                    out += 2;
                }
            }
        }
        sw_ring_pop(&d->ring, k);
        d->next_index += k;
        d->next_t_us = first.t_us + k * d->period_us;
        send_payload(d, sw_payload_seal(p, (size_t)(out - p)), k);
    }
}

#if SW_WITH_ACCEL
static void flush_accel(sw_device *d)
{
    int32_t values[SW_MAX_ACCEL_PER_FRAME * 3];
    uint8_t i;
    size_t len;
    uint8_t n = d->accel_n;
    if (n == 0) {
        return;
    }
    for (i = 0; i < (uint8_t)(n * 3u); ++i) {
        values[i] = d->accel[i];
    }
    d->accel_n = 0;
    len = sw_build_samples(payload(d), SW_TYPE_ACCEL, next_seq(d), d->accel_t0_us, 3,
                           SW_FORMAT_I16, n, d->accel_index, values);
    d->accel_index += n;
    send_payload(d, len, 0);
}

void sw_device_accel(sw_device *d, uint64_t t_us, const int16_t xyz[3])
{
    uint8_t i;
    if (!d->streaming || d->board->accel_sfreq_mhz == 0) {
        return;
    }
    if (d->accel_n == 0) {
        d->accel_t0_us = t_us;
    }
    for (i = 0; i < 3; ++i) {
        d->accel[d->accel_n * 3u + i] = xyz[i];
    }
    if (++d->accel_n >= d->board->accel_per_frame) {
        if (d->port->link_ready != NULL && !d->port->link_ready(d->port->ctx)) {
            d->accel_index += d->accel_n; /* dropped: the host sees an ACCEL sample gap */
            d->accel_n = 0;
            return;
        }
        flush_accel(d);
    }
}
#endif

/* ------------------------------------------------------------------ sampler states */

static void start_stream(sw_device *d)
{
    sw_ring_clear(&d->ring);
    d->accept_after_us = read_stable(&d->isr_clock_us);
    d->have_next = false;
    d->saturation_mask = 0;
#if SW_WITH_ACCEL
    d->accel_n = 0;
    d->accel_index = 0;
#endif
    d->streaming = true;
    d->next_status_us = sw_device_now_us(d);
    d->isr_sampling = 1; /* from the next timer tick on */
    send_device_info(d);
}

static void stop_stream(sw_device *d)
{
    d->isr_sampling = 0;
    pump_samples(d, true);
#if SW_WITH_ACCEL
    flush_accel(d);
#endif
    d->streaming = false;
}

static void apply_rate(sw_device *d, uint32_t rate_mhz)
{
    uint32_t period = (uint32_t)(1000000000UL / rate_mhz);
    d->rate_mhz = rate_mhz;
    d->period_us = period;
    lock(d);
    d->isr_period_us = period;
    d->port->set_period(d->port->ctx, period);
    unlock(d);
}

static bool rate_supported(const sw_board *b, uint32_t rate_mhz)
{
    uint8_t i;
    for (i = 0; i < b->n_rates; ++i) {
        if (b->rates_mhz[i] == rate_mhz) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------ commands */

static void handle_command(sw_device *d, const uint8_t *p, size_t len)
{
    uint32_t request_seq = sw_get_u32(p + 2);
    size_t body = len - SW_MIN_PAYLOAD;
    uint8_t cmd = (body > 0) ? p[SW_HEADER_LEN] : 0u;
    size_t expected = (cmd == SW_CMD_SET_RATE) ? 5u : 1u;
    text t;
    t.n = 0;
    t.buf[0] = '\0';
    if (body == 0) {
        send_reply(d, 0, request_seq, SW_RESULT_BAD_ARGUMENT, "empty COMMAND body");
        return;
    }
    if (cmd < SW_CMD_IDENTIFY || cmd > SW_CMD_STATUS) {
        text_put(&t, "unknown command 0x");
        text_hex8(&t, cmd);
        send_reply(d, cmd, request_seq, SW_RESULT_UNKNOWN_COMMAND, t.buf);
        return;
    }
    if (body != expected) {
        text_put(&t, (cmd == SW_CMD_SET_RATE) ? "SET_RATE takes one u32 rate in mHz"
                                              : "this command takes no arguments");
        send_reply(d, cmd, request_seq, SW_RESULT_BAD_ARGUMENT, t.buf);
        return;
    }
    switch (cmd) {
    case SW_CMD_IDENTIFY:
        send_reply(d, cmd, request_seq, SW_RESULT_OK, NULL);
        send_device_info(d);
        break;
    case SW_CMD_START:
        if (d->streaming) {
            send_reply(d, cmd, request_seq, SW_RESULT_OK, "already streaming");
        } else {
            send_reply(d, cmd, request_seq, SW_RESULT_OK, NULL);
            start_stream(d);
        }
        break;
    case SW_CMD_STOP:
        /* No sample is taken once STOP is answered: sampling ends before the reply (whose
         * time stamp is then after the last sample), what was buffered follows it. */
        d->isr_sampling = 0;
        send_reply(d, cmd, request_seq, SW_RESULT_OK, NULL);
        if (d->streaming) {
            stop_stream(d);
        }
        break;
    case SW_CMD_SET_RATE: {
        uint32_t rate = sw_get_u32(p + SW_HEADER_LEN + 1);
        if (!rate_supported(d->board, rate)) {
            uint8_t i;
            text_put(&t, "rate must be one of ");
            for (i = 0; i < d->board->n_rates; ++i) {
                if (i > 0) {
                    text_put(&t, ", ");
                }
                text_rate(&t, d->board->rates_mhz[i]);
            }
            text_put(&t, " Hz");
            send_reply(d, cmd, request_seq, SW_RESULT_BAD_ARGUMENT, t.buf);
            break;
        }
        send_reply(d, cmd, request_seq, SW_RESULT_OK, NULL);
        if (d->streaming) {
            stop_stream(d);
            apply_rate(d, rate);
            start_stream(d); /* first_sample from 0, DEVICE_INFO */
        } else {
            apply_rate(d, rate);
            send_device_info(d);
        }
        break;
    }
    default: /* SW_CMD_STATUS */
        send_reply(d, cmd, request_seq, SW_RESULT_OK, NULL);
        send_status(d);
        break;
    }
}

static void handle_block(sw_device *d, uint8_t *block, size_t n)
{
    size_t len = 0;
    sw_frame_error err = sw_frame_check(block, n, block, &len);
    if ((err == SW_FRAME_OK || err == SW_FRAME_ERR_MALFORMED) &&
        block[1] == SW_TYPE_COMMAND) {
        handle_command(d, block, len);
        return;
    }
    /* Bad COBS, CRC, version or a frame that is not a command: ignored (the host retries). */
    ++d->commands_ignored;
}

void sw_device_rx(sw_device *d, const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        uint8_t byte = data[i];
        if (byte == 0x00) {
            if (d->rx_len > 0 && !d->rx_overrun) {
                handle_block(d, d->rx, d->rx_len);
            } else if (d->rx_overrun) {
                ++d->commands_ignored;
            }
            d->rx_len = 0;
            d->rx_overrun = false;
        } else if (d->rx_len < SW_RX_MAX) {
            d->rx[d->rx_len++] = byte;
        } else {
            d->rx_overrun = true;
        }
    }
}

/* ------------------------------------------------------------------ public */

bool sw_device_init(sw_device *d, const sw_board *board, const sw_port *port, sw_slot *ring,
                    uint32_t ring_capacity)
{
    uint8_t i;
    memset(d, 0, sizeof *d);
    d->board = board;
    d->port = port;
    if (port == NULL || port->send == NULL || port->set_period == NULL || board == NULL ||
        board->emg_channels < 1 || board->emg_channels > SW_MAX_EMG_CHANNELS ||
        board->adc_bits < 2 || board->adc_bits > 16 || board->samples_per_frame < 1 ||
        (uint32_t)board->samples_per_frame * board->emg_channels * 2u > SW_MAX_BLOCK_DATA ||
        board->n_rates < 1 || board->rates_mhz == NULL || board->status_interval_us == 0 ||
        !rate_supported(board, board->default_rate_mhz)) {
        return false;
    }
    for (i = 0; i < board->n_rates; ++i) {
        uint32_t r = board->rates_mhz[i];
        if (r == 0 || 1000000000UL % r != 0) {
            return false; /* the sample period must be a whole number of microseconds */
        }
    }
#if SW_WITH_ACCEL
    if (board->accel_sfreq_mhz != 0 &&
        (board->accel_per_frame < 1 || board->accel_per_frame > SW_MAX_ACCEL_PER_FRAME)) {
        return false;
    }
#else
    if (board->accel_sfreq_mhz != 0) {
        return false; /* built without accelerometer support */
    }
#endif
    if (ring_capacity < board->samples_per_frame ||
        !sw_ring_init(&d->ring, ring, ring_capacity)) {
        return false;
    }
    d->count_min = (int16_t)(-(int32_t)(1L << (board->adc_bits - 1)));
    d->count_max = (int16_t)((1L << (board->adc_bits - 1)) - 1);
    d->info_pending = true;
    apply_rate(d, board->default_rate_mhz);
    return true;
}

bool sw_device_isr_tick(sw_device *d)
{
    uint32_t t = d->isr_clock_us + d->isr_period_us;
    d->isr_clock_us = t;
    if (d->isr_sampling) {
        d->isr_sample_t = t;
        return true;
    }
    return false;
}

void sw_device_isr_sample(sw_device *d, const int16_t *counts)
{
    (void)sw_ring_push(&d->ring, d->isr_sample_t, counts, d->board->emg_channels);
}

int16_t sw_counts_from_unipolar(uint16_t raw, uint8_t bits)
{
    return (int16_t)((int32_t)raw - (int32_t)(1L << (bits - 1)));
}

void sw_device_poll(sw_device *d)
{
    uint64_t now;
    if (d->port->link_ready != NULL && !d->port->link_ready(d->port->ctx)) {
        (void)sw_device_now_us(d); /* keep counting clock wraps */
        return;
    }
    if (d->info_pending) {
        d->info_pending = false;
        send_device_info(d);
    }
    if (!d->streaming) {
        sw_ring_clear(&d->ring); /* a conversion that finished after STOP */
        (void)sw_device_now_us(d);
        return;
    }
    pump_samples(d, false);
    now = sw_device_now_us(d);
    if (now >= d->next_status_us) {
        send_status(d);
        d->next_status_us += d->board->status_interval_us;
        if (d->next_status_us <= now) {
            d->next_status_us = now + d->board->status_interval_us;
        }
    }
}

uint32_t sw_device_overflow_samples(const sw_device *d)
{
    return sw_ring_overflow(&d->ring) + d->overflow_link;
}

bool sw_device_streaming(const sw_device *d)
{
    return d->streaming;
}
