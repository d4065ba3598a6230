/* The device state machine through a fake port: frames, commands, bad input, overflow. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "sw_device.h"
#include "tests.h"

#define MAX_FRAMES 256

typedef struct fake_port {
    uint8_t payload[MAX_FRAMES][SW_MAX_PAYLOAD];
    size_t len[MAX_FRAMES];
    int n;
    int bad_frames;      /* frames that did not pass sw_frame_check */
    bool ready;          /* link_ready() */
    bool accept;         /* send() result */
    uint32_t period_us;  /* last set_period() */
    int locked;          /* irq_lock depth */
    int set_period_unlocked;
} fake_port;

static bool fake_send(void *ctx, const uint8_t *frame, size_t len)
{
    fake_port *f = ctx;
    size_t i, plen = 0;
    uint8_t tmp[SW_MAX_ENCODED];
    /* One whole frame: no 0x00 inside, exactly one delimiter at the end. */
    for (i = 0; i + 1 < len; ++i) {
        if (frame[i] == 0) ++f->bad_frames;
    }
    if (len < 2 || len > SW_MAX_ENCODED || frame[len - 1] != 0 ||
        sw_frame_check(frame, len - 1, tmp, &plen) != SW_FRAME_OK) {
        ++f->bad_frames;
        return f->accept;
    }
    if (f->accept && f->n < MAX_FRAMES) {
        memcpy(f->payload[f->n], tmp, plen);
        f->len[f->n] = plen;
        ++f->n;
    }
    return f->accept;
}

static bool fake_ready(void *ctx) { return ((fake_port *)ctx)->ready; }
static void fake_set_period(void *ctx, uint32_t p)
{
    fake_port *f = ctx;
    f->period_us = p;
    if (f->locked == 0) ++f->set_period_unlocked;
}
static void fake_lock(void *ctx) { ++((fake_port *)ctx)->locked; }
static void fake_unlock(void *ctx) { --((fake_port *)ctx)->locked; }
static void fake_power(void *ctx, sw_power *p)
{
    (void)ctx;
    p->battery_mv = 3912;
    p->battery_pct = 81;
    p->flags = SW_STATUS_USB_POWER | 0xF0u; /* junk high bits must not reach the wire */
    p->lead_off_mask = 2;
}

static const char *const names[2] = {"EMG L", "EMG R"};
static const uint32_t rates[] = {250000UL, 500000UL, 1000000UL, 2000000UL};

/* The board of the golden vector device_info_uno_10bit. */
static sw_board uno_board(void)
{
    sw_board b;
    memset(&b, 0, sizeof b);
    b.firmware_version[0] = 1;
    b.firmware_version[1] = 2;
    b.firmware_version[2] = 3;
    b.device_id = 42;
    b.emg_channels = 2;
    b.adc_bits = 10;
    b.adc_bipolar = 0;
    b.vref_v = 5.0f;
    b.gain = 2420.0f;
    b.samples_per_frame = 50;
    b.board = "uno";
    b.channel_names = names;
    b.rates_mhz = rates;
    b.n_rates = 4;
    b.default_rate_mhz = 1000000UL;
    b.status_interval_us = 1000000UL;
    return b;
}

typedef struct rig {
    fake_port f;
    sw_port port;
    sw_board board;
    sw_device d;
    sw_slot ring[64];
    uint32_t host_seq;
} rig;

static void rig_init(rig *r, uint32_t ring_slots)
{
    memset(r, 0, sizeof *r);
    r->f.ready = true;
    r->f.accept = true;
    r->port.ctx = &r->f;
    r->port.send = fake_send;
    r->port.link_ready = fake_ready;
    r->port.set_period = fake_set_period;
    r->port.irq_lock = fake_lock;
    r->port.irq_unlock = fake_unlock;
    r->port.read_power = fake_power;
    r->board = uno_board();
    CHECK(sw_device_init(&r->d, &r->board, &r->port, r->ring, ring_slots));
}

/* The counts the "ADC" gives at device time t (a deterministic pattern, never clipping). */
static int16_t pattern(uint32_t t_us, int ch)
{
    int32_t k = (int32_t)((t_us / 500u) % 997u);
    return (int16_t)(ch == 0 ? (k % 1000) - 498 : 300 - (k * 3) % 601);
}

/* n timer ticks; every due sample gets the pattern's counts. */
static void ticks(rig *r, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; ++i) {
        if (sw_device_isr_tick(&r->d)) {
            uint32_t t = r->d.isr_sample_t;
            int16_t v[2];
            v[0] = pattern(t, 0);
            v[1] = pattern(t, 1);
            sw_device_isr_sample(&r->d, v);
        }
    }
}

static void send_command(rig *r, uint8_t cmd, const uint8_t *args, size_t n_args)
{
    uint8_t payload[SW_MAX_PAYLOAD], enc[SW_MAX_ENCODED];
    size_t n = sw_build_command(payload, r->host_seq++, 0, cmd, args, n_args);
    n = sw_frame_encode(payload, n, enc);
    sw_device_rx(&r->d, enc, n);
}

static uint8_t ftype(rig *r, int i) { return r->f.payload[i][1]; }
static uint32_t fseq(rig *r, int i) { return sw_get_u32(r->f.payload[i] + 2); }
static uint64_t fts(rig *r, int i) { return sw_get_u64(r->f.payload[i] + 6); }
static const uint8_t *body(rig *r, int i) { return r->f.payload[i] + SW_HEADER_LEN; }

/* Reply fields: command, request_seq, result, message. */
static void check_reply(rig *r, int i, uint8_t cmd, uint32_t req, uint8_t result, const char *msg)
{
    const uint8_t *b = body(r, i);
    CHECK_EQ(ftype(r, i), SW_TYPE_COMMAND_REPLY);
    CHECK_EQ(b[0], cmd);
    CHECK_EQ(sw_get_u32(b + 1), req);
    CHECK_EQ(b[5], result);
    CHECK_EQ(b[6], strlen(msg));
    CHECK(memcmp(b + 7, msg, strlen(msg)) == 0);
    if (b[6] != strlen(msg) || memcmp(b + 7, msg, strlen(msg)) != 0) {
        fprintf(stderr, "  message was \"%.*s\"\n", b[6], (const char *)b + 7);
    }
}

static int count_type(rig *r, int from, uint8_t type)
{
    int i, n = 0;
    for (i = from; i < r->f.n; ++i) n += ftype(r, i) == type;
    return n;
}

static void test_power_up_device_info(const json *root)
{
    rig r;
    const json *frames = json_get(root, "frames");
    size_t i;
    check_test = "power_up_device_info_is_golden";
    rig_init(&r, 64);
    CHECK_EQ(r.f.n, 0); /* nothing before the first poll */
    CHECK_EQ(r.f.period_us, 1000);
    CHECK_EQ(r.f.set_period_unlocked, 0);
    sw_device_poll(&r.d);
    CHECK_EQ(r.f.n, 1);
    for (i = 0; i < json_len(frames); ++i) {
        const json *v = json_at(frames, i);
        if (strcmp(json_str(json_get(v, "name")), "device_info_uno_10bit") == 0) {
            uint8_t want[SW_MAX_PAYLOAD];
            size_t n = hex_decode(json_str(json_get(v, "payload_hex")), want, sizeof want);
            CHECK_EQ(r.f.len[0], n);
            CHECK(memcmp(r.f.payload[0], want, n) == 0);
            CHECK_EQ(r.f.bad_frames, 0);
            return;
        }
    }
    CHECK(!"vector device_info_uno_10bit missing");
}

static void test_command_vectors(const json *root)
{
    rig r;
    const json *frames = json_get(root, "frames");
    size_t i;
    int before;
    check_test = "golden_command_frames";
    rig_init(&r, 64);
    sw_device_poll(&r.d); /* power-up DEVICE_INFO, seq 0 */
    for (i = 0; i < json_len(frames); ++i) {
        const json *v = json_at(frames, i);
        const char *name = json_str(json_get(v, "name"));
        uint8_t enc[SW_MAX_ENCODED];
        size_t n;
        if (strncmp(name, "command_", 8) != 0) continue;
        n = hex_decode(json_str(json_get(v, "encoded_hex")), enc, sizeof enc);
        before = r.f.n;
        check_test = name;
        /* Byte by byte: the receiver does not care how the bytes are chunked. */
        {
            size_t k;
            for (k = 0; k < n; ++k) sw_device_rx(&r.d, enc + k, 1);
        }
        CHECK(r.f.n > before);
        if (r.f.n <= before) continue;
        CHECK_EQ(ftype(&r, before), SW_TYPE_COMMAND_REPLY);
        CHECK_EQ(sw_get_u32(body(&r, before) + 1), json_uint(json_get(json_get(v, "fields"), "seq")));
        CHECK_EQ(body(&r, before)[5], SW_RESULT_OK);
        if (strcmp(name, "command_identify") == 0 || strcmp(name, "command_start") == 0 ||
            strcmp(name, "command_set_rate_500") == 0) {
            CHECK_EQ(r.f.n, before + 2);
            CHECK_EQ(ftype(&r, before + 1), SW_TYPE_DEVICE_INFO);
        }
        if (strcmp(name, "command_set_rate_500") == 0) {
            CHECK_EQ(sw_get_u32(body(&r, before + 1) + 11), 500000UL);
            CHECK_EQ(r.f.period_us, 2000);
        }
        if (strcmp(name, "command_status") == 0) {
            CHECK_EQ(ftype(&r, r.f.n - 1), SW_TYPE_STATUS);
        }
        ticks(&r, 120);
        sw_device_poll(&r.d);
    }
    check_test = "golden_command_frames_seq";
    for (i = 0; i < (size_t)r.f.n; ++i) CHECK_EQ(fseq(&r, (int)i), i); /* one counter, all types */
}

static void test_streaming(void)
{
    rig r;
    int i, first;
    uint32_t k;
    check_test = "streaming_frames";
    rig_init(&r, 64);
    ticks(&r, 7); /* time passes before START: device clock 7 ms */
    sw_device_poll(&r.d);
    first = r.f.n;
    send_command(&r, SW_CMD_START, NULL, 0);
    CHECK_EQ(r.f.n, first + 2);
    check_reply(&r, first, SW_CMD_START, 0, SW_RESULT_OK, "");
    CHECK_EQ(ftype(&r, first + 1), SW_TYPE_DEVICE_INFO);
    CHECK(sw_device_streaming(&r.d));
    /* 160 ticks, polled every 10: three whole frames of 50, no partial frame. */
    for (k = 0; k < 16; ++k) {
        ticks(&r, 10);
        sw_device_poll(&r.d);
    }
    CHECK_EQ(count_type(&r, first, SW_TYPE_SAMPLES), 3);
    CHECK_EQ(count_type(&r, first, SW_TYPE_STATUS), 1);
    k = 0;
    for (i = first; i < r.f.n; ++i) {
        const uint8_t *b = body(&r, i);
        uint32_t s;
        if (ftype(&r, i) == SW_TYPE_STATUS) {
            CHECK_EQ(b[3], SW_STATUS_STREAMING | SW_STATUS_USB_POWER);
            CHECK_EQ(sw_get_u16(b), 3912);
            CHECK_EQ(b[4], 2);
            continue;
        }
        if (ftype(&r, i) != SW_TYPE_SAMPLES) continue;
        CHECK_EQ(b[0], 2);
        CHECK_EQ(b[1], SW_FORMAT_I16);
        CHECK_EQ(b[2], 50);
        CHECK_EQ(sw_get_u32(b + 3), k);              /* first_sample contiguous from 0 */
        CHECK_EQ(fts(&r, i), 8000u + 1000u * k);     /* first sample at the first tick after START */
        CHECK_EQ(r.f.len[i], SW_HEADER_LEN + 7u + 200u + 4u);
        for (s = 0; s < 50; ++s) {
            uint32_t t = 8000u + 1000u * (k + s);
            CHECK_EQ((int16_t)sw_get_u16(b + 7 + 4 * s), pattern(t, 0));
            CHECK_EQ((int16_t)sw_get_u16(b + 9 + 4 * s), pattern(t, 1));
        }
        k += 50;
    }
    CHECK_EQ(k, 150);

    check_test = "start_while_streaming";
    first = r.f.n;
    send_command(&r, SW_CMD_START, NULL, 0);
    CHECK_EQ(r.f.n, first + 1);
    check_reply(&r, first, SW_CMD_START, 1, SW_RESULT_OK, "already streaming");

    check_test = "stop_flushes_buffered_samples";
    ticks(&r, 23); /* 10 left from before + 23 = 33 waiting */
    first = r.f.n;
    send_command(&r, SW_CMD_STOP, NULL, 0);
    CHECK(!sw_device_streaming(&r.d));
    CHECK_EQ(r.f.n, first + 2);
    check_reply(&r, first, SW_CMD_STOP, 2, SW_RESULT_OK, "");
    CHECK_EQ(ftype(&r, first + 1), SW_TYPE_SAMPLES);
    CHECK_EQ(body(&r, first + 1)[2], 33);
    CHECK_EQ(sw_get_u32(body(&r, first + 1) + 3), 150);
    ticks(&r, 200);
    sw_device_poll(&r.d);
    CHECK_EQ(r.f.n, first + 2); /* nothing while stopped */

    check_test = "restart_counts_from_zero";
    first = r.f.n;
    send_command(&r, SW_CMD_START, NULL, 0);
    ticks(&r, 50);
    sw_device_poll(&r.d);
    CHECK_EQ(ftype(&r, first + 2), SW_TYPE_SAMPLES);
    CHECK_EQ(sw_get_u32(body(&r, first + 2) + 3), 0);
    CHECK_EQ(fts(&r, first + 2), sw_device_now_us(&r.d) - 49000u);
    CHECK_EQ(r.f.bad_frames, 0);
}

static void test_set_rate(const json *root)
{
    rig r;
    int first, i;
    uint8_t arg[4];
    const json *frames = json_get(root, "frames");
    const char *golden = "";
    size_t v;
    for (v = 0; v < json_len(frames); ++v) {
        const json *f = json_at(frames, v);
        if (strcmp(json_str(json_get(f, "name")), "reply_bad_argument") == 0) {
            golden = json_str(json_get(json_get(f, "fields"), "message"));
        }
    }
    check_test = "set_rate_unsupported";
    rig_init(&r, 64);
    sw_device_poll(&r.d);
    first = r.f.n;
    sw_put_u32(arg, 123000UL);
    send_command(&r, SW_CMD_SET_RATE, arg, 4);
    CHECK_EQ(r.f.n, first + 1);
    CHECK(strlen(golden) > 0);
    check_reply(&r, first, SW_CMD_SET_RATE, 0, SW_RESULT_BAD_ARGUMENT, golden);
    CHECK_EQ(r.f.period_us, 1000);

    check_test = "set_rate_while_streaming";
    send_command(&r, SW_CMD_START, NULL, 0);
    ticks(&r, 60);
    sw_device_poll(&r.d); /* one frame of 50, 10 waiting */
    first = r.f.n;
    sw_put_u32(arg, 2000000UL);
    send_command(&r, SW_CMD_SET_RATE, arg, 4);
    CHECK_EQ(r.f.period_us, 500);
    CHECK_EQ(r.f.set_period_unlocked, 0);
    /* OK, the old stream's last 10 samples, then DEVICE_INFO of the new stream. */
    check_reply(&r, first, SW_CMD_SET_RATE, 2, SW_RESULT_OK, "");
    CHECK_EQ(ftype(&r, first + 1), SW_TYPE_SAMPLES);
    CHECK_EQ(body(&r, first + 1)[2], 10);
    CHECK_EQ(ftype(&r, first + 2), SW_TYPE_DEVICE_INFO);
    CHECK_EQ(sw_get_u32(body(&r, first + 2) + 11), 2000000UL);
    for (i = 0; i < 10; ++i) {
        ticks(&r, 10);
        sw_device_poll(&r.d);
    }
    {
        int seen = 0;
        uint64_t prev = 0;
        for (i = first + 3; i < r.f.n; ++i) {
            if (ftype(&r, i) != SW_TYPE_SAMPLES) continue;
            CHECK_EQ(sw_get_u32(body(&r, i) + 3), 50u * (uint32_t)seen);
            CHECK_EQ(body(&r, i)[2], 50);
            if (seen > 0) CHECK_EQ(fts(&r, i) - prev, 25000); /* 50 x 500 us */
            prev = fts(&r, i);
            ++seen;
        }
        CHECK_EQ(seen, 2);
    }

    check_test = "set_rate_while_stopped";
    send_command(&r, SW_CMD_STOP, NULL, 0);
    first = r.f.n;
    sw_put_u32(arg, 250000UL);
    send_command(&r, SW_CMD_SET_RATE, arg, 4);
    CHECK_EQ(r.f.n, first + 2);
    CHECK_EQ(ftype(&r, first + 1), SW_TYPE_DEVICE_INFO);
    CHECK(!sw_device_streaming(&r.d));
    CHECK_EQ(r.f.period_us, 4000);
}

static void test_bad_commands(void)
{
    rig r;
    int first;
    uint8_t payload[SW_MAX_PAYLOAD], enc[SW_MAX_ENCODED];
    uint8_t junk[300];
    size_t n;
    uint8_t two[2] = {1, 2};
    check_test = "unknown_command";
    rig_init(&r, 64);
    sw_device_poll(&r.d);
    first = r.f.n;
    send_command(&r, 0x7F, NULL, 0);
    CHECK_EQ(r.f.n, first + 1);
    check_reply(&r, first, 0x7F, 0, SW_RESULT_UNKNOWN_COMMAND, "unknown command 0x7f");
    send_command(&r, 0x00, NULL, 0);
    check_reply(&r, first + 1, 0x00, 1, SW_RESULT_UNKNOWN_COMMAND, "unknown command 0x00");

    check_test = "wrong_body_length";
    first = r.f.n;
    send_command(&r, SW_CMD_IDENTIFY, two, 1);
    check_reply(&r, first, SW_CMD_IDENTIFY, 2, SW_RESULT_BAD_ARGUMENT,
                "this command takes no arguments");
    send_command(&r, SW_CMD_SET_RATE, two, 2);
    check_reply(&r, first + 1, SW_CMD_SET_RATE, 3, SW_RESULT_BAD_ARGUMENT,
                "SET_RATE takes one u32 rate in mHz");
    CHECK_EQ(r.f.n, first + 2);
    CHECK(!sw_device_streaming(&r.d));

    check_test = "empty_command_body";
    first = r.f.n;
    sw_put_header(payload, SW_TYPE_COMMAND, 77, 0);
    n = sw_payload_seal(payload, SW_HEADER_LEN);
    n = sw_frame_encode(payload, n, enc);
    sw_device_rx(&r.d, enc, n);
    CHECK_EQ(r.f.n, first + 1);
    check_reply(&r, first, 0, 77, SW_RESULT_BAD_ARGUMENT, "empty COMMAND body");

    check_test = "ignored_blocks";
    first = r.f.n;
    /* CRC failure: ignored (the host retries). */
    n = sw_build_command(payload, 5, 0, SW_CMD_START, NULL, 0);
    payload[SW_HEADER_LEN] ^= 0x40;
    n = sw_frame_encode(payload, n, enc);
    sw_device_rx(&r.d, enc, n);
    /* Version 2. */
    n = sw_build_command(payload, 6, 0, SW_CMD_START, NULL, 0);
    payload[0] = 2;
    n = sw_payload_seal(payload, n - SW_CRC_LEN);
    n = sw_frame_encode(payload, n, enc);
    sw_device_rx(&r.d, enc, n);
    /* A frame that is not a COMMAND (a STATUS echoed back). */
    {
        sw_status st;
        memset(&st, 0, sizeof st);
        n = sw_build_status(payload, 7, 0, &st);
        n = sw_frame_encode(payload, n, enc);
        sw_device_rx(&r.d, enc, n);
    }
    /* Invalid COBS, a short block, and 300 bytes of noise without a delimiter. */
    {
        uint8_t bad_cobs[] = {0x05, 0x11, 0x22, 0x00};
        uint8_t short_block[] = {0x03, 0x01, 0x10, 0x00};
        size_t k;
        sw_device_rx(&r.d, bad_cobs, sizeof bad_cobs);
        sw_device_rx(&r.d, short_block, sizeof short_block);
        for (k = 0; k < sizeof junk; ++k) junk[k] = (uint8_t)(1u + k % 251u);
        sw_device_rx(&r.d, junk, sizeof junk);
    }
    CHECK_EQ(r.f.n, first);
    CHECK(!sw_device_streaming(&r.d));
    CHECK(r.d.commands_ignored >= 5);
    /* The noise is cut at the next delimiter; a command glued after it costs that command
     * (the host retries), the one after it is answered. */
    send_command(&r, SW_CMD_IDENTIFY, NULL, 0);
    CHECK_EQ(r.f.n, first);
    send_command(&r, SW_CMD_IDENTIFY, NULL, 0);
    CHECK_EQ(r.f.n, first + 2);
    check_reply(&r, first, SW_CMD_IDENTIFY, 5, SW_RESULT_OK, "");
    CHECK_EQ(r.f.bad_frames, 0);
}

static void test_status_and_saturation(void)
{
    rig r;
    int first, i;
    check_test = "status_command";
    rig_init(&r, 64);
    sw_device_poll(&r.d);
    first = r.f.n;
    send_command(&r, SW_CMD_STATUS, NULL, 0);
    CHECK_EQ(r.f.n, first + 2);
    check_reply(&r, first, SW_CMD_STATUS, 0, SW_RESULT_OK, "");
    CHECK_EQ(ftype(&r, first + 1), SW_TYPE_STATUS);
    CHECK_EQ(body(&r, first + 1)[3], SW_STATUS_USB_POWER); /* not streaming, bits 4..7 clear */

    check_test = "saturation_flagged";
    send_command(&r, SW_CMD_START, NULL, 0);
    ticks(&r, 10);
    sw_device_poll(&r.d); /* first STATUS of the stream is due at START */
    for (i = 0; i < 50; ++i) {
        if (sw_device_isr_tick(&r.d)) {
            int16_t v[2];
            v[0] = 0;
            v[1] = (int16_t)(i == 20 ? -512 : (i == 30 ? 511 : 0)); /* 10-bit limits */
            sw_device_isr_sample(&r.d, v);
        }
    }
    sw_device_poll(&r.d);
    first = r.f.n;
    send_command(&r, SW_CMD_STATUS, NULL, 0);
    CHECK_EQ(ftype(&r, first + 1), SW_TYPE_STATUS);
    CHECK_EQ(body(&r, first + 1)[5], 0x02); /* channel 1 clipped */
    CHECK_EQ(body(&r, first + 1)[3] & SW_STATUS_STREAMING, SW_STATUS_STREAMING);
    send_command(&r, SW_CMD_STATUS, NULL, 0);
    CHECK_EQ(body(&r, first + 3)[5], 0x00); /* cleared by the previous STATUS */
    /* Values one count inside the limits are not clipping. */
    for (i = 0; i < 50; ++i) {
        if (sw_device_isr_tick(&r.d)) {
            int16_t v[2];
            v[0] = (int16_t)(i % 2 ? -511 : 510);
            v[1] = 0;
            sw_device_isr_sample(&r.d, v);
        }
    }
    sw_device_poll(&r.d);
    send_command(&r, SW_CMD_STATUS, NULL, 0);
    CHECK_EQ(body(&r, r.f.n - 1)[5], 0x00);
}

static void test_overflow(void)
{
    rig r;
    int first, i, samples = 0;
    uint32_t k, expected_next = 0;
    uint32_t last_seq;
    check_test = "overflow_when_link_stalls";
    rig_init(&r, 64);
    sw_device_poll(&r.d);
    send_command(&r, SW_CMD_START, NULL, 0);
    first = r.f.n;
    r.f.ready = false;
    for (k = 0; k < 20; ++k) {
        ticks(&r, 10);
        sw_device_poll(&r.d);
    }
    CHECK_EQ(r.f.n, first);                          /* nothing sent while held */
    CHECK_EQ(sw_device_overflow_samples(&r.d), 136); /* 64 buffered, 136 discarded */
    r.f.ready = true;
    for (k = 0; k < 10; ++k) {
        sw_device_poll(&r.d);
        ticks(&r, 10);
    }
    sw_device_poll(&r.d);
    /* 50 + 14 samples (a short frame before the gap), then on from index 200. */
    for (i = first; i < r.f.n; ++i) {
        const uint8_t *b = body(&r, i);
        if (ftype(&r, i) == SW_TYPE_STATUS) {
            CHECK_EQ(sw_get_u32(b + 6), 136);
        }
        if (ftype(&r, i) != SW_TYPE_SAMPLES) continue;
        CHECK_EQ(sw_get_u32(b + 3), expected_next);
        /* timestamps stay on the sample grid across the gap (first sample at 1 ms) */
        CHECK_EQ(fts(&r, i), 1000u * (1u + expected_next));
        if (samples == 50) {
            CHECK_EQ(b[2], 14);
            expected_next = 200;
        } else {
            CHECK_EQ(b[2], 50);
            expected_next += b[2];
        }
        samples += b[2];
    }
    CHECK_EQ(samples, 50 + 14 + 100);
    CHECK_EQ(sw_ring_count(&r.d.ring), 0);

    check_test = "refused_frames_count_as_overflow";
    last_seq = fseq(&r, r.f.n - 1);
    r.f.accept = false;
    ticks(&r, 50);
    sw_device_poll(&r.d); /* one SAMPLES frame refused by the link */
    r.f.accept = true;
    first = r.f.n;
    send_command(&r, SW_CMD_STATUS, NULL, 0);
    CHECK_EQ(sw_get_u32(body(&r, first + 1) + 6), 136 + 50);
    /* The refused frame's sequence number stays used: the host sees a frame gap. */
    CHECK_EQ(fseq(&r, first), last_seq + 2);
    CHECK_EQ(r.d.frames_refused, 1);
}

static void test_clock_wrap(void)
{
    rig r;
    int i;
    uint64_t prev = 0;
    int n = 0;
    check_test = "clock_extends_to_64_bits";
    rig_init(&r, 64);
    sw_device_poll(&r.d);
    r.d.isr_clock_us = 0xFFFFFFFFUL - 30000UL + 1UL; /* 30 ms before the 32-bit wrap */
    r.d.clock_last = r.d.isr_clock_us;
    send_command(&r, SW_CMD_START, NULL, 0);
    for (i = 0; i < 20; ++i) {
        ticks(&r, 10);
        sw_device_poll(&r.d);
    }
    for (i = 0; i < r.f.n; ++i) {
        if (ftype(&r, i) == SW_TYPE_SAMPLES) {
            if (n > 0) CHECK_EQ(fts(&r, i) - prev, 50000);
            prev = fts(&r, i);
            ++n;
        }
    }
    CHECK_EQ(n, 4);
    CHECK(prev > 0xFFFFFFFFULL);
    CHECK(sw_device_now_us(&r.d) > 0x100000000ULL);
}

#if SW_WITH_ACCEL
static void test_accel(void)
{
    rig r;
    int i, first;
    int16_t xyz[3];
    check_test = "accel_frames";
    rig_init(&r, 64);
    r.board.accel_sfreq_mhz = 100000UL;
    r.board.accel_g_per_count = 1.0f / 4096.0f;
    r.board.accel_per_frame = 10;
    CHECK(sw_device_init(&r.d, &r.board, &r.port, r.ring, 64));
    sw_device_poll(&r.d);
    xyz[0] = 4096; xyz[1] = 0; xyz[2] = -7;
    sw_device_accel(&r.d, 0, xyz); /* ignored: not streaming */
    send_command(&r, SW_CMD_START, NULL, 0);
    first = r.f.n;
    for (i = 0; i < 25; ++i) {
        xyz[1] = (int16_t)i;
        sw_device_accel(&r.d, 10000u * (uint64_t)i, xyz);
    }
    CHECK_EQ(count_type(&r, first, SW_TYPE_ACCEL), 2);
    CHECK_EQ(ftype(&r, first), SW_TYPE_ACCEL);
    CHECK_EQ(body(&r, first)[0], 3);
    CHECK_EQ(body(&r, first)[2], 10);
    CHECK_EQ(sw_get_u32(body(&r, first + 1) + 3), 10);
    CHECK_EQ(fts(&r, first + 1), 100000);
    CHECK_EQ((int16_t)sw_get_u16(body(&r, first + 1) + 7 + 2), 10); /* y of sample 10 */
    send_command(&r, SW_CMD_STOP, NULL, 0); /* flushes the last 5 */
    CHECK_EQ(body(&r, r.f.n - 1)[2], 5);
    CHECK_EQ(ftype(&r, r.f.n - 1), SW_TYPE_ACCEL);
}
#endif

static void test_bad_boards(void)
{
    rig r;
    sw_device d;
    static const uint32_t odd_rate[] = {3000UL}; /* 3 Hz: 333333.3 us, not whole */
    check_test = "init_rejects_bad_boards";
    rig_init(&r, 64);
    r.board.rates_mhz = odd_rate;
    r.board.n_rates = 1;
    r.board.default_rate_mhz = 3000UL;
    CHECK(!sw_device_init(&d, &r.board, &r.port, r.ring, 64));
    r.board = uno_board();
    r.board.samples_per_frame = 55; /* 2 x 55 x 2 bytes > 217 */
    CHECK(!sw_device_init(&d, &r.board, &r.port, r.ring, 64));
    r.board = uno_board();
    r.board.default_rate_mhz = 300000UL; /* not in the list */
    CHECK(!sw_device_init(&d, &r.board, &r.port, r.ring, 64));
    r.board = uno_board();
    CHECK(!sw_device_init(&d, &r.board, &r.port, r.ring, 48)); /* ring not a power of two */
    CHECK(sw_device_init(&d, &r.board, &r.port, r.ring, 64));
    CHECK_EQ(sw_counts_from_unipolar(0, 10), -512);
    CHECK_EQ(sw_counts_from_unipolar(1023, 10), 511);
    CHECK_EQ(sw_counts_from_unipolar(512, 10), 0);
}

void run_device_tests(const char *vectors_path)
{
    json *root = json_load(vectors_path);
    check_test = "device_load_vectors";
    CHECK(root != NULL);
    if (root == NULL) return;
    test_power_up_device_info(root);
    test_command_vectors(root);
    test_streaming();
    test_set_rate(root);
    test_bad_commands();
    test_status_and_saturation();
    test_overflow();
    test_clock_wrap();
#if SW_WITH_ACCEL
    test_accel();
#endif
    test_bad_boards();
    json_free(root);
}
