/* Protocol v1 payload builders and the receive-side check (docs/protocol.md). */
#include "sw_protocol.h"

#include <string.h>

#include "sw_cobs.h"
#include "sw_crc32.h"

/* f32 fields are IEEE 754 binary32: the core needs float to be exactly that wide. */
typedef char sw_float_is_32_bits[(sizeof(float) == 4) ? 1 : -1];

void sw_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void sw_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void sw_put_u64(uint8_t *p, uint64_t v)
{
    sw_put_u32(p, (uint32_t)v);
    sw_put_u32(p + 4, (uint32_t)(v >> 32));
}

void sw_put_f32(uint8_t *p, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    sw_put_u32(p, bits);
}

uint16_t sw_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
}

uint32_t sw_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

uint64_t sw_get_u64(const uint8_t *p)
{
    return (uint64_t)sw_get_u32(p) | ((uint64_t)sw_get_u32(p + 4) << 32);
}

void sw_put_header(uint8_t *p, uint8_t type, uint32_t seq, uint64_t timestamp_us)
{
    p[0] = (uint8_t)SW_PROTOCOL_VERSION; /* u8 version */
    p[1] = type;                         /* u8 type */
    sw_put_u32(p + 2, seq);              /* u32 seq */
    sw_put_u64(p + 6, timestamp_us);     /* u64 timestamp_us */
}

size_t sw_payload_seal(uint8_t *payload, size_t len)
{
    if (len + SW_CRC_LEN < SW_MIN_PAYLOAD || len + SW_CRC_LEN > SW_MAX_PAYLOAD) {
        return 0;
    }
    sw_put_u32(payload + len, sw_crc32(payload, len)); /* u32 CRC-32 */
    return len + SW_CRC_LEN;
}

size_t sw_build_samples(uint8_t *payload, uint8_t type, uint32_t seq, uint64_t timestamp_us,
                        uint8_t channels, uint8_t format, uint8_t count, uint32_t first_sample,
                        const int32_t *values)
{
    size_t width = (format == SW_FORMAT_I16) ? 2u : 3u;
    size_t n = (size_t)channels * count;
    uint8_t *p = payload + SW_HEADER_LEN;
    size_t i;
    if ((format != SW_FORMAT_I16 && format != SW_FORMAT_I24) || channels < 1 ||
        channels > 16 || count < 1 || n * width > SW_MAX_BLOCK_DATA) {
        return 0;
    }
    sw_put_header(payload, type, seq, timestamp_us);
    p[0] = channels;                /* u8 channel_count */
    p[1] = format;                  /* u8 sample_format */
    p[2] = count;                   /* u8 sample_count */
    sw_put_u32(p + 3, first_sample); /* u32 first_sample */
    p += SW_BLOCK_HEADER_LEN;
    for (i = 0; i < n; ++i) {
        int32_t v = values[i];
        uint32_t u = (uint32_t)v;
        if (width == 2u) {
            if (v < -32768L || v > 32767L) {
                return 0;
            }
            sw_put_u16(p, (uint16_t)u); /* i16 */
        } else {
            if (v < -8388608L || v > 8388607L) {
                return 0;
            }
            p[0] = (uint8_t)u; /* i24, little-endian two's complement */
            p[1] = (uint8_t)(u >> 8);
            p[2] = (uint8_t)(u >> 16);
        }
        p += width;
    }
    return sw_payload_seal(payload, (size_t)(p - payload));
}

size_t sw_build_status(uint8_t *payload, uint32_t seq, uint64_t timestamp_us,
                       const sw_status *status)
{
    uint8_t *p = payload + SW_HEADER_LEN;
    sw_put_header(payload, SW_TYPE_STATUS, seq, timestamp_us);
    sw_put_u16(p, status->battery_mv);        /* u16 battery_mv */
    p[2] = status->battery_pct;               /* u8 battery_pct */
    p[3] = (uint8_t)(status->flags & 0x0Fu);  /* u8 flags, bits 4..7 zero */
    p[4] = status->lead_off_mask;             /* u8 lead_off_mask */
    p[5] = status->saturation_mask;           /* u8 saturation_mask */
    sw_put_u32(p + 6, status->overflow_samples); /* u32 overflow_samples */
    return sw_payload_seal(payload, SW_HEADER_LEN + 10u);
}

/* Append a length-prefixed printable-ASCII string; 0 if too long or not printable. */
static size_t put_text(uint8_t *p, const char *text, size_t max_len)
{
    size_t n = 0;
    if (text != NULL) {
        while (text[n] != '\0') {
            unsigned char c = (unsigned char)text[n];
            if (c < 0x20u || c > 0x7Eu || n >= max_len) {
                return 0;
            }
            p[1 + n] = c;
            ++n;
        }
    }
    p[0] = (uint8_t)n;
    return n + 1u;
}

size_t sw_build_device_info(uint8_t *payload, uint32_t seq, uint64_t timestamp_us,
                            const sw_device_info *info)
{
    uint8_t *p = payload + SW_HEADER_LEN;
    size_t used;
    uint8_t c;
    if (info->emg_channels < 1 || info->emg_channels > 16 || info->board == NULL) {
        return 0;
    }
    sw_put_header(payload, SW_TYPE_DEVICE_INFO, seq, timestamp_us);
    memcpy(p, info->firmware_version, 3);   /* u8 x3 firmware_version */
    sw_put_u64(p + 3, info->device_id);     /* u64 device_id */
    sw_put_u32(p + 11, info->emg_sfreq_mhz); /* u32 emg_sfreq_mhz */
    p[15] = info->emg_channels;             /* u8 emg_channels */
    p[16] = info->emg_format;               /* u8 emg_format */
    p[17] = info->adc_bits;                 /* u8 adc_bits */
    p[18] = info->adc_bipolar;              /* u8 adc_bipolar */
    sw_put_f32(p + 19, info->vref_v);       /* f32 vref_v */
    sw_put_f32(p + 23, info->gain);         /* f32 gain */
    sw_put_u32(p + 27, info->accel_sfreq_mhz); /* u32 accel_sfreq_mhz */
    sw_put_f32(p + 31, info->accel_g_per_count); /* f32 accel_g_per_count */
    p[35] = info->samples_per_frame;        /* u8 samples_per_frame */
    p += 36;
    used = put_text(p, info->board, SW_MAX_BOARD_LEN); /* u8 + ASCII board */
    if (used == 0) {
        return 0;
    }
    p += used;
    for (c = 0; c < info->emg_channels; ++c) { /* (u8 + ASCII) x n channel_names */
        used = put_text(p, info->channel_names[c], SW_MAX_CHANNEL_NAME_LEN);
        if (used == 0) {
            return 0;
        }
        p += used;
    }
    return sw_payload_seal(payload, (size_t)(p - payload));
}

size_t sw_build_reply(uint8_t *payload, uint32_t seq, uint64_t timestamp_us, uint8_t command,
                      uint32_t request_seq, uint8_t result, const char *message)
{
    uint8_t *p = payload + SW_HEADER_LEN;
    size_t used;
    sw_put_header(payload, SW_TYPE_COMMAND_REPLY, seq, timestamp_us);
    p[0] = command;               /* u8 command (echoed) */
    sw_put_u32(p + 1, request_seq); /* u32 request_seq */
    p[5] = result;                /* u8 result */
    used = put_text(p + 6, message, SW_MAX_MESSAGE_LEN); /* u8 message_len + ASCII */
    if (used == 0) {
        return 0;
    }
    return sw_payload_seal(payload, SW_HEADER_LEN + 6u + used);
}

size_t sw_build_command(uint8_t *payload, uint32_t seq, uint64_t timestamp_us, uint8_t command,
                        const uint8_t *args, size_t n_args)
{
    if (n_args > SW_MAX_PAYLOAD - SW_MIN_PAYLOAD - 1u) {
        return 0;
    }
    sw_put_header(payload, SW_TYPE_COMMAND, seq, timestamp_us);
    payload[SW_HEADER_LEN] = command; /* u8 command */
    if (n_args > 0) {
        memcpy(payload + SW_HEADER_LEN + 1u, args, n_args); /* arguments */
    }
    return sw_payload_seal(payload, SW_HEADER_LEN + 1u + n_args);
}

size_t sw_frame_finish(uint8_t *buf, size_t len)
{
    if (len < SW_MIN_PAYLOAD || len > SW_MAX_PAYLOAD) {
        return 0;
    }
    (void)sw_cobs_encode_inplace(buf, len);
    buf[len + 1u] = 0x00; /* delimiter */
    return len + 2u;
}

size_t sw_frame_encode(const uint8_t *payload, size_t len, uint8_t *out)
{
    size_t n;
    if (len < SW_MIN_PAYLOAD || len > SW_MAX_PAYLOAD) {
        return 0;
    }
    n = sw_cobs_encode(payload, len, out);
    out[n] = 0x00;
    return n + 1u;
}

/* Body-level consistency of the frame types the firmware knows (section 7, "malformed"). */
static sw_frame_error check_body(const uint8_t *payload, size_t len)
{
    const uint8_t *b = payload + SW_HEADER_LEN;
    size_t body = len - SW_HEADER_LEN - SW_CRC_LEN;
    switch (payload[1]) {
    case SW_TYPE_SAMPLES:
    case SW_TYPE_ACCEL: {
        size_t width;
        if (body < SW_BLOCK_HEADER_LEN || b[0] < 1 || b[0] > 16 || b[2] < 1 ||
            (b[1] != SW_FORMAT_I16 && b[1] != SW_FORMAT_I24)) {
            return SW_FRAME_ERR_MALFORMED;
        }
        width = (b[1] == SW_FORMAT_I16) ? 2u : 3u;
        return (body == SW_BLOCK_HEADER_LEN + (size_t)b[0] * b[2] * width)
                   ? SW_FRAME_OK
                   : SW_FRAME_ERR_MALFORMED;
    }
    case SW_TYPE_STATUS:
        return (body == 10u && (b[3] & 0xF0u) == 0) ? SW_FRAME_OK : SW_FRAME_ERR_MALFORMED;
    case SW_TYPE_COMMAND_REPLY:
        return (body >= 7u && body == 7u + (size_t)b[6] && b[6] <= SW_MAX_MESSAGE_LEN)
                   ? SW_FRAME_OK
                   : SW_FRAME_ERR_MALFORMED;
    case SW_TYPE_DEVICE_INFO:
    case SW_TYPE_COMMAND:
        return (body >= 1u) ? SW_FRAME_OK : SW_FRAME_ERR_MALFORMED;
    default:
        return SW_FRAME_ERR_TYPE;
    }
}

sw_frame_error sw_frame_check(const uint8_t *block, size_t n, uint8_t *payload, size_t *len)
{
    size_t m;
    if (n > SW_MAX_ENCODED - 1u) {
        return SW_FRAME_ERR_FRAMING;
    }
    m = sw_cobs_decode(block, n, payload);
    if (m == SW_COBS_ERROR || m < SW_MIN_PAYLOAD || m > SW_MAX_PAYLOAD) {
        return SW_FRAME_ERR_FRAMING;
    }
    *len = m;
    if (sw_crc32(payload, m - SW_CRC_LEN) != sw_get_u32(payload + m - SW_CRC_LEN)) {
        return SW_FRAME_ERR_CRC;
    }
    if (payload[0] != SW_PROTOCOL_VERSION) {
        return SW_FRAME_ERR_VERSION;
    }
    return check_body(payload, m);
}
