/*
 * spasmwatch wire protocol v1 (docs/protocol.md): constants and payload builders.
 *
 * A *payload* is header (14 bytes) | body | CRC-32 (4 bytes), 18..242 bytes. The builders
 * write a payload into a caller's buffer and return its length (CRC included), or 0 when an
 * argument is out of range. sw_frame_finish() turns a payload built at buf + 1 into the
 * bytes on the wire (COBS + 0x00 delimiter) in place, so one SW_FRAME_BUF_LEN buffer holds
 * a frame from its first field to its delimiter.
 *
 * All multi-byte fields are little-endian; offsets below are from the payload's start.
 */
#ifndef SW_PROTOCOL_H
#define SW_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SW_PROTOCOL_VERSION 1u

/* Sizes (section 2). */
#define SW_HEADER_LEN 14u   /* u8 version, u8 type, u32 seq, u64 timestamp_us */
#define SW_CRC_LEN 4u       /* u32 CRC-32 over header and body */
#define SW_MIN_PAYLOAD 18u  /* header + CRC, empty body */
#define SW_MAX_PAYLOAD 242u /* header + 224-byte body + CRC */
#define SW_MAX_ENCODED 244u /* COBS(242 bytes) = 243, + 0x00 delimiter */
#define SW_FRAME_BUF_LEN SW_MAX_ENCODED
#define SW_BLOCK_HEADER_LEN 7u /* u8 channel_count, u8 sample_format, u8 count, u32 first */
#define SW_MAX_BLOCK_DATA 217u /* data bytes of a sample block */
#define SW_MAX_MESSAGE_LEN 64u /* COMMAND_REPLY message */
#define SW_MAX_BOARD_LEN 32u
#define SW_MAX_CHANNEL_NAME_LEN 16u

/* Frame types (section 3). */
#define SW_TYPE_SAMPLES 0x01u
#define SW_TYPE_ACCEL 0x02u
#define SW_TYPE_STATUS 0x03u
#define SW_TYPE_DEVICE_INFO 0x04u
#define SW_TYPE_COMMAND_REPLY 0x05u
#define SW_TYPE_COMMAND 0x10u

/* Sample formats (section 4). */
#define SW_FORMAT_I16 1u
#define SW_FORMAT_I24 2u

/* STATUS flags (section 5.1). */
#define SW_STATUS_STREAMING 0x01u
#define SW_STATUS_CHARGING 0x02u
#define SW_STATUS_USB_POWER 0x04u
#define SW_STATUS_BATTERY_LOW 0x08u

/* Commands (section 6.1) and reply codes (section 6.2). */
#define SW_CMD_IDENTIFY 0x01u
#define SW_CMD_START 0x02u
#define SW_CMD_STOP 0x03u
#define SW_CMD_SET_RATE 0x04u
#define SW_CMD_STATUS 0x05u

#define SW_RESULT_OK 0u
#define SW_RESULT_UNKNOWN_COMMAND 1u
#define SW_RESULT_BAD_ARGUMENT 2u
#define SW_RESULT_BUSY 3u
#define SW_RESULT_NOT_ALLOWED 4u

/* How a received block failed (section 7), from sw_frame_check(). */
typedef enum sw_frame_error {
    SW_FRAME_OK = 0,
    SW_FRAME_ERR_FRAMING = 1,  /* COBS invalid, or payload not 18..242 bytes */
    SW_FRAME_ERR_CRC = 2,      /* CRC mismatch */
    SW_FRAME_ERR_VERSION = 3,  /* version != 1 */
    SW_FRAME_ERR_TYPE = 4,     /* unknown frame type */
    SW_FRAME_ERR_MALFORMED = 5 /* body lengths/values contradict each other */
} sw_frame_error;

/* Body of a STATUS frame (section 5.1). */
typedef struct sw_status {
    uint16_t battery_mv;      /* 0 = unknown */
    uint8_t battery_pct;      /* 0..100, 255 = unknown */
    uint8_t flags;            /* SW_STATUS_* bits */
    uint8_t lead_off_mask;    /* bit i: channel i lost contact */
    uint8_t saturation_mask;  /* bit i: channel i clipped since the previous STATUS */
    uint32_t overflow_samples; /* cumulative sample times discarded on the device */
} sw_status;

/* Body of a DEVICE_INFO frame (section 5.2). */
typedef struct sw_device_info {
    uint8_t firmware_version[3]; /* major, minor, patch */
    uint64_t device_id;
    uint32_t emg_sfreq_mhz;      /* EMG rate in millihertz */
    uint8_t emg_channels;        /* 1..16 */
    uint8_t emg_format;          /* SW_FORMAT_I16 or SW_FORMAT_I24 */
    uint8_t adc_bits;            /* 1..24 */
    uint8_t adc_bipolar;         /* 0: 0..vref, 1: -vref..+vref */
    float vref_v;                /* > 0 */
    float gain;                  /* electrodes to ADC input, V/V, > 0 */
    uint32_t accel_sfreq_mhz;    /* 0 = no accelerometer */
    float accel_g_per_count;
    uint8_t samples_per_frame;
    const char *board;                 /* <= 32 printable ASCII */
    const char *const *channel_names;  /* emg_channels names, each <= 16 printable ASCII */
} sw_device_info;

/* Little-endian stores and loads. */
void sw_put_u16(uint8_t *p, uint16_t v);
void sw_put_u32(uint8_t *p, uint32_t v);
void sw_put_u64(uint8_t *p, uint64_t v);
void sw_put_f32(uint8_t *p, float v);
uint16_t sw_get_u16(const uint8_t *p);
uint32_t sw_get_u32(const uint8_t *p);
uint64_t sw_get_u64(const uint8_t *p);

/* Write the 14-byte header at p. */
void sw_put_header(uint8_t *p, uint8_t type, uint32_t seq, uint64_t timestamp_us);

/*
 * Append the CRC to a payload of `len` bytes (header + body) and return len + 4, or 0 if
 * the result would be outside 18..242 bytes.
 */
size_t sw_payload_seal(uint8_t *payload, size_t len);

/*
 * Sample block (SAMPLES or ACCEL) of `count` sample times x `channels` values, interleaved
 * by time (t0c0, t0c1, ..., t1c0, ...). Values must fit the format (i16 or i24).
 */
size_t sw_build_samples(uint8_t *payload, uint8_t type, uint32_t seq, uint64_t timestamp_us,
                        uint8_t channels, uint8_t format, uint8_t count, uint32_t first_sample,
                        const int32_t *values);

size_t sw_build_status(uint8_t *payload, uint32_t seq, uint64_t timestamp_us,
                       const sw_status *status);

size_t sw_build_device_info(uint8_t *payload, uint32_t seq, uint64_t timestamp_us,
                            const sw_device_info *info);

/* COMMAND_REPLY; message may be NULL (empty), at most 64 printable ASCII bytes. */
size_t sw_build_reply(uint8_t *payload, uint32_t seq, uint64_t timestamp_us, uint8_t command,
                      uint32_t request_seq, uint8_t result, const char *message);

/* COMMAND (host side; used by tests and tools): n_args argument bytes follow the code. */
size_t sw_build_command(uint8_t *payload, uint32_t seq, uint64_t timestamp_us, uint8_t command,
                        const uint8_t *args, size_t n_args);

/*
 * Finish a frame whose payload of `len` bytes was built at buf + 1 (buf has room for
 * SW_FRAME_BUF_LEN bytes): COBS-encode it in place and append the 0x00 delimiter. Returns
 * the number of bytes to send (len + 2), or 0 if len is not a valid payload length.
 */
size_t sw_frame_finish(uint8_t *buf, size_t len);

/* Encode a payload into a separate buffer (room for SW_MAX_ENCODED); returns bytes incl. 0x00. */
size_t sw_frame_encode(const uint8_t *payload, size_t len, uint8_t *out);

/*
 * Check a received block (delimiter excluded) as section 7 classifies it. On SW_FRAME_OK
 * and on the type/malformed errors the decoded payload is in `payload` (room for n bytes;
 * may equal `block`) and its length (CRC included) in *len.
 */
sw_frame_error sw_frame_check(const uint8_t *block, size_t n, uint8_t *payload, size_t *len);

#endif /* SW_PROTOCOL_H */
