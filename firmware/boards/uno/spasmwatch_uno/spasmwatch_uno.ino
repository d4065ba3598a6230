// spasmwatch on an Arduino Uno / Nano (ATmega328P, 16 MHz), Arduino core.
//
// Board: "Arduino Uno" (arduino:avr:uno), or "Arduino Nano" for a Nano. Open this folder in
// the Arduino IDE once the portable core is next to this file as core/ (a copy of
// firmware/core, or the folder `make -C firmware uno-sketch` assembles): docs/firmware.md,
// section "Arduino Uno / Nano". Wiring: hardware/wiring.md. Options: uno_config.h.
//
// The sampling is the same board logic as the bare avr-libc build (uno_board.c): Timer1
// fires once per sample period and starts the A0/A1 conversions in its interrupt, the ADC
// interrupt puts both counts into the sample ring. Timer0 stays with the Arduino core
// (millis()). This file only carries the link: Serial at UNO_BAUD (250 000 baud, 8N1) in,
// and frames out from loop() -- nothing is written to Serial from an interrupt. D2 is the
// optional hold input (LOW: no data frames are sent; see uno_board.c).

#include <avr/interrupt.h>
#include <avr/sleep.h>

#include "uno_board.h"

static bool serial_send(const uint8_t *frame, size_t len)
{
    // Blocks while the core's 64-byte transmit buffer is full (a 227-byte SAMPLES frame
    // takes 9.1 ms at 250 000 baud; frames are 50 ms apart at 1 kHz).
    return Serial.write(frame, len) == len;
}

static bool board_ok = false;

void setup()
{
    Serial.begin(UNO_BAUD);
    board_ok = uno_board_begin(serial_send);
}

void loop()
{
    if (!board_ok) {
        return;
    }
    uint8_t chunk[8];
    uint8_t n = 0;
    while (n < sizeof chunk && Serial.available() > 0) {
        chunk[n++] = static_cast<uint8_t>(Serial.read());
    }
    if (n > 0) {
        uno_board_rx(chunk, n);
    }
    uno_board_poll();
    // Idle until the next interrupt (sample tick, Timer0, a received or sent byte). The SEI
    // right before SLEEP takes effect after it, so a byte that arrives after the check still
    // wakes the CPU.
    cli();
    if (Serial.available() == 0) {
        sleep_enable();
        sei();
        sleep_cpu();
        sleep_disable();
    }
    sei();
}
