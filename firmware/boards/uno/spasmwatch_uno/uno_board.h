/*
 * The Uno / Nano board logic shared by both builds of the port: the bare avr-libc image
 * (../main.c, which owns the UART) and the Arduino sketch (spasmwatch_uno.ino, which uses the
 * core's Serial). See uno_board.c for what it owns.
 */
#ifndef UNO_BOARD_H
#define UNO_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uno_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Send one whole encoded frame on the link; called from the main loop only. Returns false
 * when the link did not take it (the core then counts its samples as overflow).
 */
typedef bool (*uno_send_fn)(const uint8_t *frame, size_t len);

/*
 * Set up the hold input (D2), the device id (EEPROM), the ADC, Timer1 and the device, with
 * interrupts masked throughout (SREG is restored on return: the bare build enables them
 * afterwards, under the Arduino core they are already on). Returns false if the device could
 * not be set up (nothing samples then).
 */
bool uno_board_begin(uno_send_fn send);

/* Main loop: bytes received from the host (complete commands are answered at once). */
void uno_board_rx(const uint8_t *data, size_t n);

/* Main loop: send what is due (DEVICE_INFO at power-up, SAMPLES, STATUS). */
void uno_board_poll(void);

#ifdef __cplusplus
}
#endif

#endif /* UNO_BOARD_H */
