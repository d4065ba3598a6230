/*
 * spasmwatch firmware core: compile-time limits.
 *
 * Every value can be overridden on the compiler's command line (-DNAME=value) by a board's
 * build; the defaults suit a 2-channel EMG wearable.
 */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <stdint.h>

/* Largest number of EMG channels a device built from this core samples (protocol: 1..16). */
#ifndef SW_MAX_EMG_CHANNELS
#define SW_MAX_EMG_CHANNELS 2
#endif

/*
 * 1: the core packs accelerometer samples into ACCEL frames (sw_device_accel()).
 * 0: no accelerometer; saves the ACCEL staging buffer (216 bytes of RAM).
 */
#ifndef SW_WITH_ACCEL
#define SW_WITH_ACCEL 1
#endif

/* Largest number of accelerometer sample times per ACCEL frame (3 axes, i16: at most 36). */
#ifndef SW_MAX_ACCEL_PER_FRAME
#define SW_MAX_ACCEL_PER_FRAME 36
#endif

/*
 * Index type of the sample ring (sw_ring.h). The interrupt writes the head and the main
 * loop the tail without locking, so the type MUST be one the target reads and writes with
 * a single instruction: uint8_t everywhere (ring of at most 128 slots), uint16_t or
 * uint32_t on 32-bit MCUs (Cortex-M) for larger rings.
 */
#ifndef SW_RING_INDEX_TYPE
#define SW_RING_INDEX_TYPE uint8_t
#endif

/* Longest encoded COMMAND frame the receiver accepts (delimiter excluded); SET_RATE is 24. */
#ifndef SW_RX_MAX
#define SW_RX_MAX 32
#endif

#if SW_MAX_EMG_CHANNELS < 1 || SW_MAX_EMG_CHANNELS > 16
#error "SW_MAX_EMG_CHANNELS must be 1..16 (protocol v1, section 4)"
#endif
#if SW_MAX_ACCEL_PER_FRAME < 1 || SW_MAX_ACCEL_PER_FRAME > 36
#error "SW_MAX_ACCEL_PER_FRAME must be 1..36 (3 axes of i16 in 217 data bytes)"
#endif

#endif /* SW_CONFIG_H */
