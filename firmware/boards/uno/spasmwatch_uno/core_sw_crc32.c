/*
 * The portable core's sw_crc32.c, compiled as part of the Arduino sketch. It is reached as
 * core/ inside the sketch folder: the folder `make -C firmware uno-sketch` assembles has it,
 * or copy firmware/core there (docs/firmware.md, "Arduino Uno / Nano"). The bare avr-libc
 * build compiles firmware/core itself and not this file.
 */
#include "uno_config.h"

#include "core/sw_crc32.c"
