/*
 * spasmwatch on an Arduino Uno / Nano (ATmega328P, 16 MHz): the board logic both builds
 * share (bare avr-libc, ../main.c; Arduino core, spasmwatch_uno.ino). Only avr-libc headers
 * are used here, so the same file compiles in both.
 *
 * Front ends: two analogue EMG boards (MyoWare 2.0 or BioAmp EXG Pill) on A0 (left, "EMG L")
 * and A1 (right, "EMG R"), powered from the Uno's 5 V, output biased to mid-supply.
 *
 *   Timer1 (CTC, clk/8)  every sample period: advances the device clock; when streaming,
 *                        starts the A0 conversion (simavr has no ADC auto-trigger, and a
 *                        conversion started in the interrupt works the same on hardware)
 *   ADC interrupt        A0 done -> start A1; A1 done -> both counts into the sample ring
 *   main loop            (the build's own) commands in, frames out through uno_send_fn
 *
 * Timer0 and the UART are not touched here: the Arduino core keeps Timer0 for millis() and
 * owns USART0 through Serial; the bare build programs USART0 itself.
 *
 * D2 (PD2) is an optional "hold" input with the internal pull-up: while it is LOW the
 * firmware sends no data frames (samples wait in the ring and, once it is full, are counted
 * in STATUS overflow_samples). Left unconnected it never holds.
 */
#include "uno_config.h"

#include <avr/eeprom.h>
#include <avr/interrupt.h>
#include <avr/io.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sw_device.h"
#include "uno_board.h"

#ifndef F_CPU
#error "F_CPU must be defined (16000000 for the Uno)"
#endif
#if F_CPU != 16000000UL
#error "this port assumes a 16 MHz crystal (Timer1 ticks and the UART divisor)"
#endif

static const char *const channel_names[2] = {"EMG L", "EMG R"};
static const uint32_t rates_mhz[] = {250000UL, 500000UL, 1000000UL, 2000000UL};

static sw_board board = {
    {1, 0, 0},                 /* firmware_version */
    UNO_DEFAULT_DEVICE_ID,     /* device_id (from EEPROM when programmed) */
    2,                         /* emg_channels */
    10,                        /* adc_bits */
    0,                         /* adc_bipolar: 0..AVcc */
    5.0f,                      /* vref_v: AVcc */
    UNO_FRONTEND_GAIN,         /* gain */
    0,                         /* accel_sfreq_mhz: none */
    0.0f,                      /* accel_g_per_count */
    0,                         /* accel_per_frame */
    50,                        /* samples_per_frame */
    "uno",                     /* board */
    channel_names,
    rates_mhz,
    (uint8_t)(sizeof rates_mhz / sizeof rates_mhz[0]),
    1000000UL,                 /* default_rate_mhz: 1 kHz */
    1000000UL,                 /* status_interval_us: 1 s */
};

static sw_device dev;
static sw_slot ring[UNO_RING_SLOTS];
static uno_send_fn link_send;

/* ---------------------------------------------------------------- port hooks */

static bool port_send(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    return link_send(frame, len);
}

static bool port_link_ready(void *ctx)
{
    (void)ctx;
    return (PIND & (1u << PD2)) != 0; /* LOW = hold */
}

static uint8_t saved_sreg;

static void port_irq_lock(void *ctx)
{
    (void)ctx;
    saved_sreg = SREG;
    cli();
}

static void port_irq_unlock(void *ctx)
{
    (void)ctx;
    SREG = saved_sreg;
}

static void port_set_period(void *ctx, uint32_t period_us)
{
    (void)ctx;
    /* clk/8 = 2 MHz: 2 timer counts per microsecond; 250 Hz (4000 us) -> OCR1A 7999. */
    OCR1A = (uint16_t)(period_us * 2u - 1u);
    if (TCNT1 > OCR1A) {
        TCNT1 = 0;
    }
}

static const sw_port port = {
    NULL,            /* ctx */
    port_send,       /* send */
    port_link_ready, /* link_ready */
    port_set_period, /* set_period */
    port_irq_lock,   /* irq_lock */
    port_irq_unlock, /* irq_unlock */
    NULL,            /* read_power: USB powered, no battery */
};

/* ---------------------------------------------------------------- sampling */

static void timer_init(void)
{
    /* Overwrites whatever was there (the Arduino core's init() sets Timer1 up for PWM). */
    TCCR1A = 0;
    TCCR1B = (uint8_t)((1u << WGM12) | (1u << CS11)); /* CTC on OCR1A, clk/8 */
    TIMSK1 = (uint8_t)(1u << OCIE1A);
}

static void adc_init(void)
{
    DIDR0 = (uint8_t)((1u << ADC0D) | (1u << ADC1D)); /* digital input buffers off on A0, A1 */
    ADMUX = (uint8_t)(1u << REFS0);                  /* AVcc reference, right-adjusted, A0 */
    /* Enable, interrupt, clk/128 = 125 kHz: 13 ADC clocks = 104 us per conversion. */
    ADCSRA = (uint8_t)((1u << ADEN) | (1u << ADIE) | (1u << ADPS2) | (1u << ADPS1) |
                       (1u << ADPS0));
}

static int16_t adc_counts[2];

ISR(TIMER1_COMPA_vect)
{
    if (sw_device_isr_tick(&dev)) {
        ADMUX = (uint8_t)(1u << REFS0); /* A0 */
        ADCSRA |= (uint8_t)(1u << ADSC);
    }
}

ISR(ADC_vect)
{
    uint16_t raw = ADC;
    if ((ADMUX & 0x0Fu) == 0) {
        adc_counts[0] = sw_counts_from_unipolar(raw, 10);
        ADMUX = (uint8_t)((1u << REFS0) | 1u); /* A1 */
        ADCSRA |= (uint8_t)(1u << ADSC);
    } else {
        adc_counts[1] = sw_counts_from_unipolar(raw, 10);
        sw_device_isr_sample(&dev, adc_counts);
    }
}

/* ---------------------------------------------------------------- setup, main loop */

static uint64_t eeprom_device_id(void)
{
    uint8_t bytes[8];
    uint64_t id = 0;
    uint8_t i;
    bool blank = true;
    eeprom_read_block(bytes, (const void *)0, sizeof bytes);
    for (i = 0; i < 8; ++i) {
        id |= (uint64_t)bytes[i] << (8u * i); /* little-endian, like the wire */
        blank = blank && bytes[i] == 0xFFu;
    }
    return blank ? UNO_DEFAULT_DEVICE_ID : id;
}

bool uno_board_begin(uno_send_fn send)
{
    uint8_t sreg = SREG;
    bool ok;
    cli();
    link_send = send;
    DDRD &= (uint8_t)~(1u << PD2);
    PORTD |= (uint8_t)(1u << PD2); /* hold input, pulled up */
    board.device_id = eeprom_device_id();
    adc_init();
    timer_init();
    ok = send != NULL && sw_device_init(&dev, &board, &port, ring, UNO_RING_SLOTS);
    if (!ok) {
        TIMSK1 = 0;
    }
    SREG = sreg;
    return ok;
}

void uno_board_rx(const uint8_t *data, size_t n)
{
    sw_device_rx(&dev, data, n);
}

void uno_board_poll(void)
{
    sw_device_poll(&dev);
}
