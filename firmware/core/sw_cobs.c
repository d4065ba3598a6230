/* COBS (Cheshire & Baker 1999), as protocol v1 section 2.1 and its vectors define it: a run
 * of 254 non-zero bytes that ends the input is not followed by an empty piece. */
#include "sw_cobs.h"

size_t sw_cobs_encode(const uint8_t *src, size_t n, uint8_t *dst)
{
    size_t code_at = 0; /* where the current piece's code byte goes */
    size_t out = 1;
    uint8_t code = 1;
    size_t i;
    for (i = 0; i < n; ++i) {
        if (src[i] == 0) {
            dst[code_at] = code;
            code_at = out++;
            code = 1;
            continue;
        }
        dst[out++] = src[i];
        if (++code == 0xFF) {
            dst[code_at] = code;
            if (i + 1 == n) {
                return out;
            }
            code_at = out++;
            code = 1;
        }
    }
    dst[code_at] = code;
    return out;
}

size_t sw_cobs_encode_inplace(uint8_t *buf, size_t n)
{
    size_t code_at = 0;
    uint8_t code = 1;
    size_t i;
    if (n > 253u) {
        return 0;
    }
    /* Input byte i sits at buf[i] (1..n) and its encoding goes to buf[i] as well: a data
     * byte stays put, a zero becomes the next code slot, so nothing is overwritten unread. */
    for (i = 1; i <= n; ++i) {
        if (buf[i] == 0) {
            buf[code_at] = code;
            code_at = i;
            code = 1;
        } else {
            ++code;
        }
    }
    buf[code_at] = code;
    return n + 1u;
}

size_t sw_cobs_decode(const uint8_t *src, size_t n, uint8_t *dst)
{
    size_t in = 0;
    size_t out = 0;
    while (in < n) {
        uint8_t code = src[in];
        size_t k;
        if (code == 0 || in + code > n) {
            return SW_COBS_ERROR;
        }
        ++in;
        for (k = 1; k < code; ++k) {
            if (src[in] == 0) {
                return SW_COBS_ERROR;
            }
            dst[out++] = src[in++];
        }
        if (code != 0xFF && in < n) {
            dst[out++] = 0;
        }
    }
    return out;
}
