/*
 * Build options of the Uno / Nano port, shared by the bare avr-libc build (../main.c) and the
 * Arduino sketch (spasmwatch_uno.ino). Each can be set with -D on the compiler's command line
 * (the Makefile's UNO_BAUD) or by editing this file (the Arduino IDE passes no -D flags).
 * Included before any core header by every file of the port, so the core's configuration
 * (firmware/core/sw_config.h) is the same in all of them.
 */
#ifndef UNO_CONFIG_H
#define UNO_CONFIG_H

/* Line rate, 8N1. 250 000 is exact on a 16 MHz ATmega328P (double speed, UBRR 7). */
#ifndef UNO_BAUD
#define UNO_BAUD 250000UL
#endif
/* Total analogue gain of the front end, V/V (reported in DEVICE_INFO): the BioAmp EXG Pill in
 * its EMG configuration is about 2420 (hardware/wiring.md); set your front end's value. */
#ifndef UNO_FRONTEND_GAIN
#define UNO_FRONTEND_GAIN 2420.0f
#endif
/* Device id when the EEPROM holds none (bytes 0..7 all 0xFF). */
#ifndef UNO_DEFAULT_DEVICE_ID
#define UNO_DEFAULT_DEVICE_ID 0x554E4F0000000001ULL
#endif
/* Sample ring: power of two, at most 128 (uint8_t indices); 8 bytes per slot, so 64 slots
 * (64 ms at 1 kHz) leave about 700 bytes of the 2 KiB for the stack. */
#ifndef UNO_RING_SLOTS
#define UNO_RING_SLOTS 64u
#endif

/* The core: no accelerometer on this board (saves 216 bytes of RAM), 1-byte ring indices. */
#ifndef SW_WITH_ACCEL
#define SW_WITH_ACCEL 0
#endif
#ifndef SW_MAX_EMG_CHANNELS
#define SW_MAX_EMG_CHANNELS 2
#endif

#endif /* UNO_CONFIG_H */
