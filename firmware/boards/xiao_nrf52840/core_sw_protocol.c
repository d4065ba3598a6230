/*
 * The portable core's sw_protocol.c, compiled as part of the sketch: arduino-cli builds only the
 * sketch folder, so the core is reached through the include path given on its command line
 * (-I firmware/core; docs/firmware.md). Not compiled by this folder's Makefile.
 */
#include "xiao_config.h"

#include "sw_protocol.c"
