/*
 * spasmwatch on an Arduino Uno / Nano (ATmega328P, 16 MHz), bare avr-libc: the UART and the
 * main loop. The sampling (Timer1, ADC), the hold input, the device id and the device itself
 * are the board logic this build shares with the Arduino sketch:
 * spasmwatch_uno/uno_board.c (docs/firmware.md).
 *
 *   USART0 RX interrupt  received bytes into a small byte ring
 *   main loop            commands in, frames out (blocking writes to the UART), then sleeps
 *                        until the next interrupt
 *
 * Link: USART0 at UNO_BAUD (default 250 000 baud, 8N1; exact at 16 MHz).
 */
#include "spasmwatch_uno/uno_config.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spasmwatch_uno/uno_board.h"

/* Double-speed mode (U2X0): 250 000 baud is exact (UBRR 7), 115 200 is +2.1 % (UBRR 16). */
#define UBRR_VALUE ((F_CPU + 4UL * UNO_BAUD) / (8UL * UNO_BAUD) - 1UL)

#define RX_RING 64u /* power of two */
static volatile uint8_t rx_buf[RX_RING];
static volatile uint8_t rx_head; /* written by the RX interrupt */
static volatile uint8_t rx_tail; /* written by the main loop */

ISR(USART_RX_vect)
{
    uint8_t byte = UDR0;
    uint8_t head = rx_head;
    if ((uint8_t)(head - rx_tail) < RX_RING) {
        rx_buf[head & (RX_RING - 1u)] = byte;
        rx_head = (uint8_t)(head + 1u);
    } /* else: dropped; the command's CRC fails and the host retries */
}

static void uart_init(void)
{
    UBRR0H = (uint8_t)(UBRR_VALUE >> 8);
    UBRR0L = (uint8_t)UBRR_VALUE;
    UCSR0A = (uint8_t)(1u << U2X0);
    UCSR0C = (uint8_t)((1u << UCSZ01) | (1u << UCSZ00)); /* 8N1 */
    UCSR0B = (uint8_t)((1u << RXEN0) | (1u << TXEN0) | (1u << RXCIE0));
}

static bool uart_send(const uint8_t *frame, size_t len)
{
    size_t i;
    for (i = 0; i < len; ++i) {
        while ((UCSR0A & (1u << UDRE0)) == 0) {
        }
        UDR0 = frame[i];
    }
    return true;
}

int main(void)
{
    uart_init();
    if (!uno_board_begin(uart_send)) {
        for (;;) {
        }
    }
    sei();
    for (;;) {
        uint8_t chunk[8];
        uint8_t n = 0;
        while (rx_tail != rx_head && n < sizeof chunk) {
            chunk[n++] = rx_buf[rx_tail & (RX_RING - 1u)];
            rx_tail = (uint8_t)(rx_tail + 1u);
        }
        if (n > 0) {
            uno_board_rx(chunk, n);
        }
        uno_board_poll();
        /* Idle until the next interrupt (sample tick or received byte). Interrupts are
         * enabled by the instruction before SLEEP, so a byte that arrives after the check
         * still wakes the CPU (the SEI; SLEEP pair is atomic). */
        cli();
        if (rx_tail == rx_head) {
            sleep_enable();
            sei();
            sleep_cpu();
            sleep_disable();
        }
        sei();
    }
}
