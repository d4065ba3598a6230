/* The core against the golden vectors (docs/protocol_v1_vectors.json), byte for byte. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "sw_cobs.h"
#include "sw_crc32.h"
#include "sw_protocol.h"
#include "tests.h"

size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (hex[0] != '\0' && hex[1] != '\0' && n < cap) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1) {
            break;
        }
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static void dump_diff(const char *name, const uint8_t *got, size_t n_got, const uint8_t *want,
                      size_t n_want)
{
    size_t i;
    if (n_got == n_want && memcmp(got, want, n_got) == 0) {
        return;
    }
    fprintf(stderr, "  %s: got %zu bytes, expected %zu\n  got ", name, n_got, n_want);
    for (i = 0; i < n_got; ++i) fprintf(stderr, "%02x", got[i]);
    fprintf(stderr, "\n  exp ");
    for (i = 0; i < n_want; ++i) fprintf(stderr, "%02x", want[i]);
    fprintf(stderr, "\n");
}

static void test_crc(const json *root)
{
    const json *crc = json_get(root, "crc");
    const char *input = json_str(json_get(crc, "check_input_ascii"));
    uint32_t want = (uint32_t)strtoul(json_str(json_get(crc, "check")), NULL, 16);
    check_test = "crc_check_value";
    CHECK(strlen(input) == 9);
    CHECK_EQ(sw_crc32((const uint8_t *)input, strlen(input)), want);
    CHECK_EQ(want, 0xCBF43926UL);
    /* Running CRC over two pieces equals one pass. */
    CHECK_EQ(sw_crc32_update(sw_crc32_update(SW_CRC32_INIT, (const uint8_t *)input, 4),
                             (const uint8_t *)input + 4, 5) ^ 0xFFFFFFFFUL,
             want);
}

static void test_cobs(const json *root)
{
    const json *list = json_get(root, "cobs");
    size_t i;
    static uint8_t dec[1024], enc[1024], out[1024];
    check_test = "cobs_vectors";
    CHECK(json_len(list) >= 8);
    for (i = 0; i < json_len(list); ++i) {
        const json *v = json_at(list, i);
        size_t nd = hex_decode(json_str(json_get(v, "decoded_hex")), dec, sizeof dec);
        size_t ne = hex_decode(json_str(json_get(v, "encoded_hex")), enc, sizeof enc);
        size_t n = sw_cobs_encode(dec, nd, out);
        check_test = json_str(json_get(v, "name"));
        CHECK_EQ(n, ne);
        CHECK(n == ne && memcmp(out, enc, ne) == 0);
        dump_diff(check_test, out, n, enc, ne);
        n = sw_cobs_decode(enc, ne, out);
        CHECK_EQ(n, nd);
        CHECK(n == nd && memcmp(out, dec, nd) == 0);
        if (nd <= 253) { /* the in-place encoder used for frames */
            memcpy(out + 1, dec, nd);
            CHECK_EQ(sw_cobs_encode_inplace(out, nd), ne);
            CHECK(memcmp(out, enc, ne) == 0);
        }
    }
}

static uint8_t format_code(const char *name)
{
    return strcmp(name, "int24") == 0 ? SW_FORMAT_I24 : SW_FORMAT_I16;
}

static uint8_t command_code(const char *name)
{
    static const char *names[] = {"identify", "start", "stop", "set_rate", "status"};
    uint8_t i;
    for (i = 0; i < 5; ++i) {
        if (strcmp(name, names[i]) == 0) return (uint8_t)(i + 1);
    }
    return 0xFF;
}

static uint8_t result_code(const char *name)
{
    static const char *names[] = {"ok", "unknown_command", "bad_argument", "busy", "not_allowed"};
    uint8_t i;
    for (i = 0; i < 5; ++i) {
        if (strcmp(name, names[i]) == 0) return i;
    }
    return 0xFF;
}

uint32_t hz_to_mhz(double hz)
{
    return (uint32_t)llround(hz * 1000.0);
}

/* Build the payload the vector's fields describe with the core's builders. */
static size_t build_from_fields(const json *f, uint8_t *payload)
{
    const char *type = json_str(json_get(f, "type"));
    uint32_t seq = (uint32_t)json_uint(json_get(f, "seq"));
    uint64_t ts = json_uint(json_get(f, "timestamp_us"));
    if (strcmp(type, "samples") == 0 || strcmp(type, "accel") == 0) {
        const json *counts = json_get(f, "counts");
        size_t ch = json_len(counts);
        size_t nt = json_len(json_at(counts, 0));
        int32_t values[16 * 64];
        size_t t, c;
        for (t = 0; t < nt; ++t) {
            for (c = 0; c < ch; ++c) {
                values[t * ch + c] = (int32_t)json_int(json_at(json_at(counts, c), t));
            }
        }
        return sw_build_samples(payload, strcmp(type, "accel") == 0 ? SW_TYPE_ACCEL : SW_TYPE_SAMPLES,
                                seq, ts, (uint8_t)ch,
                                format_code(json_str(json_get(f, "sample_format"))), (uint8_t)nt,
                                (uint32_t)json_uint(json_get(f, "first_sample")), values);
    }
    if (strcmp(type, "status") == 0) {
        sw_status st;
        st.battery_mv = (uint16_t)json_uint(json_get(f, "battery_mv"));
        st.battery_pct = (uint8_t)json_uint(json_get(f, "battery_pct"));
        st.flags = (uint8_t)((json_get(f, "streaming")->boolean ? SW_STATUS_STREAMING : 0) |
                             (json_get(f, "charging")->boolean ? SW_STATUS_CHARGING : 0) |
                             (json_get(f, "usb_power")->boolean ? SW_STATUS_USB_POWER : 0) |
                             (json_get(f, "low_battery")->boolean ? SW_STATUS_BATTERY_LOW : 0));
        st.lead_off_mask = (uint8_t)json_uint(json_get(f, "lead_off_mask"));
        st.saturation_mask = (uint8_t)json_uint(json_get(f, "saturation_mask"));
        st.overflow_samples = (uint32_t)json_uint(json_get(f, "overflow_samples"));
        return sw_build_status(payload, seq, ts, &st);
    }
    if (strcmp(type, "device_info") == 0) {
        sw_device_info info;
        const json *names = json_get(f, "channel_names");
        const char *name_ptrs[16];
        size_t i;
        for (i = 0; i < 3; ++i) {
            info.firmware_version[i] = (uint8_t)json_uint(json_at(json_get(f, "firmware_version"), i));
        }
        info.device_id = json_uint(json_get(f, "device_id"));
        info.emg_sfreq_mhz = hz_to_mhz(json_number(json_get(f, "emg_sfreq")));
        info.emg_channels = (uint8_t)json_len(names);
        for (i = 0; i < json_len(names) && i < 16; ++i) name_ptrs[i] = json_str(json_at(names, i));
        info.channel_names = name_ptrs;
        info.emg_format = format_code(json_str(json_get(f, "emg_format")));
        info.adc_bits = (uint8_t)json_uint(json_get(f, "adc_bits"));
        info.adc_bipolar = (uint8_t)json_get(f, "adc_bipolar")->boolean;
        info.vref_v = (float)json_number(json_get(f, "vref_v"));
        info.gain = (float)json_number(json_get(f, "gain"));
        info.accel_sfreq_mhz = hz_to_mhz(json_number(json_get(f, "accel_sfreq")));
        info.accel_g_per_count = (float)json_number(json_get(f, "accel_g_per_count"));
        info.samples_per_frame = (uint8_t)json_uint(json_get(f, "samples_per_frame"));
        info.board = json_str(json_get(f, "board"));
        return sw_build_device_info(payload, seq, ts, &info);
    }
    if (strcmp(type, "command") == 0) {
        uint8_t cmd = command_code(json_str(json_get(f, "command")));
        uint8_t args[4];
        if (cmd == SW_CMD_SET_RATE) {
            sw_put_u32(args, hz_to_mhz(json_number(json_get(f, "rate_hz"))));
            return sw_build_command(payload, seq, ts, cmd, args, 4);
        }
        return sw_build_command(payload, seq, ts, cmd, NULL, 0);
    }
    if (strcmp(type, "command_reply") == 0) {
        return sw_build_reply(payload, seq, ts, (uint8_t)json_uint(json_get(f, "command")),
                              (uint32_t)json_uint(json_get(f, "request_seq")),
                              result_code(json_str(json_get(f, "result"))),
                              json_str(json_get(f, "message")));
    }
    return 0;
}

static void test_frames(const json *root)
{
    const json *list = json_get(root, "frames");
    size_t i;
    check_test = "frame_vectors";
    CHECK(json_len(list) >= 10);
    for (i = 0; i < json_len(list); ++i) {
        const json *v = json_at(list, i);
        uint8_t want_payload[SW_MAX_PAYLOAD + 8], want_enc[SW_MAX_ENCODED + 8];
        uint8_t payload[SW_MAX_PAYLOAD + 8], enc[SW_MAX_ENCODED + 8], buf[SW_FRAME_BUF_LEN];
        uint8_t back[SW_MAX_ENCODED];
        size_t np = hex_decode(json_str(json_get(v, "payload_hex")), want_payload, sizeof want_payload);
        size_t ne = hex_decode(json_str(json_get(v, "encoded_hex")), want_enc, sizeof want_enc);
        size_t n, m = 0;
        check_test = json_str(json_get(v, "name"));
        n = build_from_fields(json_get(v, "fields"), payload);
        CHECK_EQ(n, np);
        CHECK(n == np && memcmp(payload, want_payload, np) == 0);
        dump_diff(check_test, payload, n, want_payload, np);
        n = sw_frame_encode(payload, np, enc);
        CHECK_EQ(n, ne);
        CHECK(n == ne && memcmp(enc, want_enc, ne) == 0);
        /* The in-place path the device sends with. */
        memcpy(buf + 1, want_payload, np);
        n = sw_frame_finish(buf, np);
        CHECK_EQ(n, ne);
        CHECK(n == ne && memcmp(buf, want_enc, ne) == 0);
        /* And back: the receive-side check accepts it and returns the payload. */
        CHECK_EQ(sw_frame_check(want_enc, ne - 1, back, &m), SW_FRAME_OK);
        CHECK_EQ(m, np);
        CHECK(memcmp(back, want_payload, np) == 0);
    }
}

static void test_invalid(const json *root)
{
    const json *list = json_get(root, "invalid");
    size_t i;
    static uint8_t enc[4096], out[4096];
    check_test = "invalid_vectors";
    CHECK(json_len(list) >= 5);
    for (i = 0; i < json_len(list); ++i) {
        const json *v = json_at(list, i);
        const char *err = json_str(json_get(v, "error"));
        size_t ne = hex_decode(json_str(json_get(v, "encoded_hex")), enc, sizeof enc);
        size_t block = 0, len = 0;
        sw_frame_error want = SW_FRAME_OK;
        while (block < ne && enc[block] != 0) ++block; /* up to the first delimiter */
        if (strcmp(err, "framing") == 0) want = SW_FRAME_ERR_FRAMING;
        else if (strcmp(err, "crc") == 0) want = SW_FRAME_ERR_CRC;
        else if (strcmp(err, "version") == 0) want = SW_FRAME_ERR_VERSION;
        else if (strcmp(err, "type") == 0) want = SW_FRAME_ERR_TYPE;
        else if (strcmp(err, "malformed") == 0) want = SW_FRAME_ERR_MALFORMED;
        check_test = json_str(json_get(v, "name"));
        CHECK(want != SW_FRAME_OK);
        CHECK_EQ(sw_frame_check(enc, block, out, &len), want);
    }
}

static void test_builder_limits(void)
{
    uint8_t payload[SW_MAX_PAYLOAD + 8];
    int32_t values[128];
    size_t i;
    check_test = "builder_limits";
    for (i = 0; i < 128; ++i) values[i] = (int32_t)i;
    /* 2 channels x 54 i16 = 216 data bytes fit; 55 do not. */
    CHECK_EQ(sw_build_samples(payload, SW_TYPE_SAMPLES, 0, 0, 2, SW_FORMAT_I16, 54, 0, values),
             SW_MAX_PAYLOAD - 1u);
    CHECK_EQ(sw_build_samples(payload, SW_TYPE_SAMPLES, 0, 0, 2, SW_FORMAT_I16, 55, 0, values), 0);
    /* Out-of-range values are refused, not wrapped. */
    values[0] = 40000;
    CHECK_EQ(sw_build_samples(payload, SW_TYPE_SAMPLES, 0, 0, 1, SW_FORMAT_I16, 1, 0, values), 0);
    values[0] = -8388609L;
    CHECK_EQ(sw_build_samples(payload, SW_TYPE_SAMPLES, 0, 0, 1, SW_FORMAT_I24, 1, 0, values), 0);
    /* A reply message longer than 64 bytes or not printable is refused. */
    CHECK_EQ(sw_build_reply(payload, 0, 0, 1, 0, 0,
                            "0123456789012345678901234567890123456789012345678901234567890123X"),
             0);
    CHECK_EQ(sw_build_reply(payload, 0, 0, 1, 0, 0, "tab\there"), 0);
    CHECK(sw_build_reply(payload, 0, 0, 1, 0, 0, NULL) == SW_MIN_PAYLOAD + 7u);
}

void run_vector_tests(const char *vectors_path)
{
    json *root = json_load(vectors_path);
    check_test = "load_vectors";
    CHECK(root != NULL);
    if (root == NULL) {
        return;
    }
    CHECK_EQ(json_int(json_get(root, "protocol_version")), SW_PROTOCOL_VERSION);
    test_crc(root);
    test_cobs(root);
    test_frames(root);
    test_invalid(root);
    test_builder_limits();
    json_free(root);
}
