/*
 * The device: sampler state machine, sender, command handler and device information, with
 * no knowledge of the board. A board port supplies a sw_board (what the hardware is) and a
 * sw_port (how to reach it), and calls:
 *
 *   interrupt context (the sampling timer, the ADC):
 *     sw_device_isr_tick()    once per sample period, from the timer interrupt; true when a
 *                             sample time is due (start the conversions then)
 *     sw_device_isr_sample()  when the conversions of that sample time are done
 *
 *   main loop (never from an interrupt):
 *     sw_device_init(), then forever: sw_device_rx() with received bytes, sw_device_poll(),
 *     and (boards with an IMU) sw_device_accel().
 *
 * Nothing is ever sent from an interrupt: the interrupt only writes the sample ring
 * (sw_ring.h) and its clock; frames are built and handed to port->send() by the main loop.
 *
 * Device clock. The timer interrupt advances a 32-bit microsecond clock by the sample
 * period (an integer number of microseconds: every supported rate must divide 1e6 Hz*us),
 * so the device time between two samples is exactly 1e6 / sfreq us, paced by the same
 * crystal as the ADC (protocol section 3). The main loop extends it to 64 bits by counting
 * its wraps (sw_device_now_us() must run at least once per 71 minutes; sw_device_poll()
 * does). Time starts at 0 at power-up and advances whether or not the device streams.
 */
#ifndef SW_DEVICE_H
#define SW_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sw_config.h"
#include "sw_protocol.h"
#include "sw_ring.h"

/* What the board is: constant, usually in flash. Reported in DEVICE_INFO. */
typedef struct sw_board {
    uint8_t firmware_version[3];
    uint64_t device_id;
    uint8_t emg_channels;        /* 1..SW_MAX_EMG_CHANNELS */
    uint8_t adc_bits;            /* 1..16 (counts travel as i16) */
    uint8_t adc_bipolar;         /* 0: ADC span 0..vref; 1: -vref..+vref */
    float vref_v;
    float gain;                  /* total analogue gain, electrodes to ADC input, V/V */
    uint32_t accel_sfreq_mhz;    /* 0 = no accelerometer */
    float accel_g_per_count;
    uint8_t accel_per_frame;     /* ACCEL sample times per frame, 1..SW_MAX_ACCEL_PER_FRAME */
    uint8_t samples_per_frame;   /* EMG sample times per SAMPLES frame, 1..54 (2 ch, i16) */
    const char *board;
    const char *const *channel_names;
    const uint32_t *rates_mhz;   /* EMG rates SET_RATE accepts, mHz; 1e9 / rate integer */
    uint8_t n_rates;
    uint32_t default_rate_mhz;   /* one of rates_mhz */
    uint32_t status_interval_us; /* unsolicited STATUS period while streaming (<= 10 s) */
} sw_board;

/* Power and electrode state for STATUS frames (sw_port.read_power). */
typedef struct sw_power {
    uint16_t battery_mv;   /* 0 = unknown */
    uint8_t battery_pct;   /* 255 = unknown */
    uint8_t flags;         /* SW_STATUS_CHARGING | SW_STATUS_USB_POWER | SW_STATUS_BATTERY_LOW */
    uint8_t lead_off_mask;
} sw_power;

/*
 * How the core reaches the board. Every hook is called from the main loop only. Optional
 * hooks may be NULL.
 */
typedef struct sw_port {
    void *ctx; /* passed back to every hook */
    /*
     * Send one whole encoded frame (COBS bytes and the 0x00 delimiter, at most 244 bytes).
     * Return false if the link could not take it (e.g. no BLE subscriber): the frame is
     * dropped, its sequence number stays used, and a dropped SAMPLES frame's sample times
     * are added to STATUS overflow_samples.
     */
    bool (*send)(void *ctx, const uint8_t *frame, size_t len);
    /*
     * Optional. May a frame be sent now? While it returns false the core sends nothing and
     * samples wait in the ring; once the ring is full, new sample times are discarded and
     * counted in overflow_samples (a link that stalls does not stall the sampler).
     */
    bool (*link_ready)(void *ctx);
    /*
     * Reprogram the sampling timer to fire every period_us microseconds. Called at init and
     * on SET_RATE, between irq_lock() and irq_unlock().
     */
    void (*set_period)(void *ctx, uint32_t period_us);
    /* Optional: mask / unmask the sampling interrupts (very short critical sections). */
    void (*irq_lock)(void *ctx);
    void (*irq_unlock)(void *ctx);
    /* Optional: battery, charger and lead-off state for STATUS (unknown when NULL). */
    void (*read_power)(void *ctx, sw_power *out);
} sw_port;

typedef struct sw_device {
    const sw_board *board;
    const sw_port *port;
    sw_ring ring;

    /* Shared with the interrupt. */
    volatile uint32_t isr_clock_us;  /* written by the timer interrupt */
    volatile uint32_t isr_period_us; /* written by the main loop with interrupts locked */
    volatile uint32_t isr_sample_t;  /* time of the sample being converted; interrupt only */
    volatile uint8_t isr_sampling;   /* written by the main loop: 1 = take samples */

    /* Main loop only. */
    uint8_t frame[SW_FRAME_BUF_LEN]; /* payload built at frame + 1, sent in place */
    uint32_t seq;
    uint32_t clock_hi;               /* wraps of isr_clock_us */
    uint32_t clock_last;             /* last isr_clock_us seen */
    uint32_t rate_mhz;
    uint32_t period_us;
    bool streaming;
    bool info_pending;               /* DEVICE_INFO owed (power-up) */
    uint32_t accept_after_us;        /* slots at or before this time belong to an old stream */
    bool have_next;                  /* next_t_us / next_index valid */
    uint32_t next_t_us;              /* device time (low 32 bits) of the next expected sample */
    uint32_t next_index;             /* its sample index since START */
    uint64_t next_status_us;
    uint8_t saturation_mask;
    uint32_t overflow_link;          /* sample times of SAMPLES frames the link refused */
    int16_t count_min, count_max;    /* ADC limits as signed counts */
    /* Command receiver. */
    uint8_t rx[SW_RX_MAX];
    uint8_t rx_len;
    bool rx_overrun;                 /* block longer than SW_RX_MAX: drop until 0x00 */
#if SW_WITH_ACCEL
    int16_t accel[SW_MAX_ACCEL_PER_FRAME * 3];
    uint8_t accel_n;
    uint32_t accel_index;
    uint64_t accel_t0_us;
#endif
    /* Statistics (main loop). */
    uint32_t frames_sent;
    uint32_t frames_refused;
    uint32_t commands_ignored;       /* blocks that failed COBS, CRC, version or type */
} sw_device;

/*
 * Set up the device over caller storage for the sample ring (power-of-two capacity, see
 * sw_ring_init, and at least samples_per_frame slots) and program the sampling timer to the board's default rate. Does not send:
 * the power-up DEVICE_INFO goes out on the first sw_device_poll(). Returns false if the
 * board description or ring storage is invalid.
 */
bool sw_device_init(sw_device *d, const sw_board *board, const sw_port *port, sw_slot *ring,
                    uint32_t ring_capacity);

/* Interrupt: one sampling-timer period elapsed. True when a sample time is due now. */
bool sw_device_isr_tick(sw_device *d);

/*
 * Interrupt: the counts of the due sample time (emg_channels values, already signed with 0
 * meaning 0 V; see sw_counts_from_unipolar()). Discarded and counted when the ring is full.
 */
void sw_device_isr_sample(sw_device *d, const int16_t *counts);

/* Raw code of a unipolar ADC of `bits` bits to signed counts (subtracts 2^(bits-1)). */
int16_t sw_counts_from_unipolar(uint16_t raw, uint8_t bits);

/* Main loop: bytes received from the host; complete COMMAND frames are answered at once. */
void sw_device_rx(sw_device *d, const uint8_t *data, size_t n);

/* Main loop: send what is due (DEVICE_INFO at power-up, SAMPLES, STATUS). */
void sw_device_poll(sw_device *d);

#if SW_WITH_ACCEL
/*
 * Main loop: one accelerometer sample (x, y, z counts in the body frame of protocol
 * section 4) taken at device time t_us. Ignored while not streaming. ACCEL frames go out
 * when accel_per_frame samples are collected.
 */
void sw_device_accel(sw_device *d, uint64_t t_us, const int16_t xyz[3]);
#endif

/* Main loop: device clock, microseconds since power-up, 64 bits. */
uint64_t sw_device_now_us(sw_device *d);

/* Main loop: sample times discarded so far (ring overflow + frames the link refused). */
uint32_t sw_device_overflow_samples(const sw_device *d);

/* Main loop: is the device streaming? */
bool sw_device_streaming(const sw_device *d);

#endif /* SW_DEVICE_H */
