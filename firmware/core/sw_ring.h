/*
 * Lock-free single-producer / single-consumer ring of EMG sample slots.
 *
 * The producer is the sampling interrupt (sw_ring_push), the consumer the main loop
 * (sw_ring_peek / sw_ring_pop). Each index is written by one side only and is of
 * SW_RING_INDEX_TYPE, which the target reads and writes in one instruction; slots and
 * indices are volatile so the compiler keeps "write the slot, then publish the head" in
 * program order (enough on single-core MCUs: AVR, Cortex-M0/M4). Capacity is a power of two
 * and at most half the index type's range (128 slots with uint8_t indices).
 *
 * A push into a full ring discards the sample time and counts it (overflow_samples). The
 * counter is written by the producer only; the consumer reads it with sw_ring_overflow(),
 * which re-reads until two reads agree, so a 32-bit counter is read whole even on an 8-bit
 * MCU (the interrupt only ever increments it).
 */
#ifndef SW_RING_H
#define SW_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "sw_config.h"

typedef SW_RING_INDEX_TYPE sw_ring_index;

/* One sample time: device clock (low 32 bits, microseconds) and the signed counts. */
typedef struct sw_slot {
    uint32_t t_us;
    int16_t counts[SW_MAX_EMG_CHANNELS];
} sw_slot;

typedef struct sw_ring {
    volatile sw_slot *slots;
    sw_ring_index mask;              /* capacity - 1 */
    volatile sw_ring_index head;     /* next slot to write; producer only */
    volatile sw_ring_index tail;     /* next slot to read; consumer only */
    volatile uint32_t overflow;      /* sample times discarded; producer only */
} sw_ring;

/*
 * Set up a ring over `capacity` slots of caller storage. capacity must be a power of two,
 * 2..(max of sw_ring_index + 1) / 2. Returns false (ring unusable) otherwise.
 */
bool sw_ring_init(sw_ring *r, sw_slot *storage, uint32_t capacity);

/* Producer: copy one slot in (n_channels counts); false (and overflow + 1) if full. */
bool sw_ring_push(sw_ring *r, uint32_t t_us, const int16_t *counts, uint8_t n_channels);

/* Consumer: slots waiting. */
uint32_t sw_ring_count(const sw_ring *r);

/* Consumer: copy the i-th waiting slot (0 = oldest) to *out; false if fewer are waiting. */
bool sw_ring_peek(const sw_ring *r, uint32_t i, sw_slot *out);

/* Consumer: release the n oldest slots (n <= count). */
void sw_ring_pop(sw_ring *r, uint32_t n);

/* Consumer: release everything waiting. */
void sw_ring_clear(sw_ring *r);

/* Consumer: cumulative sample times discarded by pushes into a full ring. */
uint32_t sw_ring_overflow(const sw_ring *r);

#endif /* SW_RING_H */
