/* Lock-free SPSC sample ring; see sw_ring.h for the concurrency contract. */
#include "sw_ring.h"

#include <stddef.h>

bool sw_ring_init(sw_ring *r, sw_slot *storage, uint32_t capacity)
{
    /* Largest capacity: half the index range, so head - tail never wraps past it. */
    uint32_t limit = (sizeof(sw_ring_index) >= 4) ? 0x80000000UL
                                                  : (1UL << (8u * sizeof(sw_ring_index) - 1u));
    if (storage == NULL || capacity < 2 || capacity > limit || (capacity & (capacity - 1u)) != 0) {
        r->slots = NULL;
        return false;
    }
    r->slots = storage;
    r->mask = (sw_ring_index)(capacity - 1u);
    r->head = 0;
    r->tail = 0;
    r->overflow = 0;
    return true;
}

bool sw_ring_push(sw_ring *r, uint32_t t_us, const int16_t *counts, uint8_t n_channels)
{
    sw_ring_index head = r->head;
    sw_ring_index used = (sw_ring_index)(head - r->tail);
    volatile sw_slot *slot;
    uint8_t c;
    if (used > r->mask) {
        r->overflow = r->overflow + 1u;
        return false;
    }
    slot = &r->slots[head & r->mask];
    slot->t_us = t_us;
    for (c = 0; c < n_channels && c < SW_MAX_EMG_CHANNELS; ++c) {
        slot->counts[c] = counts[c];
    }
    r->head = (sw_ring_index)(head + 1u); /* publish after the slot is written */
    return true;
}

uint32_t sw_ring_count(const sw_ring *r)
{
    return (sw_ring_index)(r->head - r->tail);
}

bool sw_ring_peek(const sw_ring *r, uint32_t i, sw_slot *out)
{
    sw_ring_index tail = r->tail;
    const volatile sw_slot *slot;
    uint8_t c;
    if (i >= (sw_ring_index)(r->head - tail)) {
        return false;
    }
    slot = &r->slots[(sw_ring_index)(tail + i) & r->mask];
    out->t_us = slot->t_us;
    for (c = 0; c < SW_MAX_EMG_CHANNELS; ++c) {
        out->counts[c] = slot->counts[c];
    }
    return true;
}

void sw_ring_pop(sw_ring *r, uint32_t n)
{
    uint32_t waiting = sw_ring_count(r);
    if (n > waiting) {
        n = waiting;
    }
    r->tail = (sw_ring_index)(r->tail + n); /* release after the slots were read */
}

void sw_ring_clear(sw_ring *r)
{
    r->tail = r->head;
}

uint32_t sw_ring_overflow(const sw_ring *r)
{
    uint32_t a = r->overflow;
    uint32_t b = r->overflow;
    while (a != b) {
        a = b;
        b = r->overflow;
    }
    return a;
}
