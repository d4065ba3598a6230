/*
 * Core configuration of the XIAO port (firmware/core/sw_config.h), included before any core
 * header by every file of the port, so that the sketch, the core and the checks agree.
 */
#ifndef SW_XIAO_CONFIG_H
#define SW_XIAO_CONFIG_H

#ifndef SW_RING_INDEX_TYPE
#define SW_RING_INDEX_TYPE uint16_t /* ring of 2048 slots; one store on the Cortex-M4 */
#endif
#ifndef SW_WITH_ACCEL
#define SW_WITH_ACCEL 1
#endif
#ifndef SW_MAX_EMG_CHANNELS
#define SW_MAX_EMG_CHANNELS 2
#endif

#endif /* SW_XIAO_CONFIG_H */
