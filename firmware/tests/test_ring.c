/* Sample ring: capacity rules, FIFO order, overflow accounting, index wrap-around. */
#include "check.h"
#include "sw_ring.h"
#include "tests.h"

void run_ring_tests(void)
{
    sw_ring r;
    sw_slot storage[128];
    sw_slot s;
    int16_t v[2];
    uint32_t i;

    check_test = "ring_capacity_rules";
    CHECK(!sw_ring_init(&r, storage, 0));
    CHECK(!sw_ring_init(&r, storage, 1));
    CHECK(!sw_ring_init(&r, storage, 12));   /* not a power of two */
    CHECK(!sw_ring_init(&r, storage, 256));  /* more than half of the uint8_t index range */
    CHECK(sw_ring_init(&r, storage, 128));
    CHECK(sw_ring_init(&r, storage, 8));

    check_test = "ring_fifo_and_overflow";
    for (i = 0; i < 11; ++i) {
        v[0] = (int16_t)i;
        v[1] = (int16_t)-(int16_t)i;
        CHECK_EQ(sw_ring_push(&r, 1000u * i, v, 2), i < 8);
    }
    CHECK_EQ(sw_ring_count(&r), 8);
    CHECK_EQ(sw_ring_overflow(&r), 3);
    CHECK(sw_ring_peek(&r, 7, &s));
    CHECK_EQ(s.t_us, 7000);
    CHECK(!sw_ring_peek(&r, 8, &s));
    CHECK(sw_ring_peek(&r, 0, &s));
    CHECK_EQ(s.counts[0], 0);
    sw_ring_pop(&r, 3);
    CHECK_EQ(sw_ring_count(&r), 5);
    CHECK(sw_ring_peek(&r, 0, &s));
    CHECK_EQ(s.t_us, 3000);
    CHECK_EQ(s.counts[1], -3);
    sw_ring_pop(&r, 100); /* more than waiting: releases what is there */
    CHECK_EQ(sw_ring_count(&r), 0);
    CHECK_EQ(sw_ring_overflow(&r), 3); /* cumulative */

    check_test = "ring_index_wraparound";
    /* 1000 pushes through an 8-slot ring with uint8_t indices: order and values survive
     * the index wrapping every 256 pushes, and nothing is counted as overflow. */
    for (i = 0; i < 1000; ++i) {
        v[0] = (int16_t)(i * 7);
        v[1] = (int16_t)(i * 3);
        CHECK(sw_ring_push(&r, i, v, 2));
        if (i % 3 == 2) {
            uint32_t k;
            uint32_t n = sw_ring_count(&r);
            for (k = 0; k < n; ++k) {
                CHECK(sw_ring_peek(&r, 0, &s));
                CHECK_EQ(s.t_us, i - (n - 1u) + k);
                CHECK_EQ(s.counts[0], (int16_t)(s.t_us * 7));
                sw_ring_pop(&r, 1);
            }
        }
    }
    CHECK_EQ(sw_ring_overflow(&r), 3);
    sw_ring_clear(&r);
    CHECK_EQ(sw_ring_count(&r), 0);
}
