/*
 * spasmwatch on the Seeed Studio XIAO nRF52840 Sense: the board logic that does not need the
 * vendor core (no Arduino, nRF or Bluefruit headers). xiao_nrf52840.ino wires it to the
 * hardware; `make` in this folder compiles and links it with the portable core for the
 * Cortex-M4F and reports its size, and tests/firmware/test_cortex_m_xiao.py checks it on
 * the build machine.
 *
 * Hardware (hardware/wiring.md):
 *   EMG L -> front end -> 6.8k/10k divider -> A0 (P0.02, AIN0)
 *   EMG R -> front end -> 6.8k/10k divider -> A1 (P0.03, AIN1)
 *   battery -> 1M/510k divider (enabled by P0.14 low) -> P0.31 (AIN7)
 *   LSM6DS3TR-C on the internal I2C bus (Wire1), address 0x6A, powered from P1.08
 * The SAADC scans AIN0, AIN1 and AIN7 once per sample period, triggered in hardware by a
 * TIMER compare event through PPI, so the sample instants are paced by the crystal alone.
 */
#ifndef SW_XIAO_BOARD_H
#define SW_XIAO_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xiao_config.h"

#include "sw_device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- build-time options (override with -D...) ---------------------------------------- */

/* Total analogue gain of one front end, electrodes to its output (BioAmp EXG Pill, EMG). */
#ifndef SW_XIAO_FRONT_END_GAIN
#define SW_XIAO_FRONT_END_GAIN 2420.0f
#endif
/*
 * 0: BioAmp EXG Pill on 5 V, output through the 6.8k/10k divider, SAADC span 0..3.0 V
 *    (internal 0.6 V reference, gain 1/5).
 * 1: a 3.3 V front end (MyoWare 2.0 RAW) wired directly, SAADC span 0..VDD (VDD/4
 *    reference, gain 1/4), 3.3 V nominal.
 */
#ifndef SW_XIAO_ADC_SPAN_VDD
#define SW_XIAO_ADC_SPAN_VDD 0
#endif

#define SW_XIAO_FIRMWARE_MAJOR 0
#define SW_XIAO_FIRMWARE_MINOR 1
#define SW_XIAO_FIRMWARE_PATCH 0

#define SW_XIAO_ADC_BITS 12u
#define SW_XIAO_EMG_CHANNELS 2u
#define SW_XIAO_DIVIDER_TOP_OHM 6800.0f
#define SW_XIAO_DIVIDER_BOTTOM_OHM 10000.0f
#define SW_XIAO_VBAT_TOP_OHM 1000000u   /* on-board battery divider */
#define SW_XIAO_VBAT_BOTTOM_OHM 510000u
#define SW_XIAO_BATTERY_LOW_MV 3500u
#define SW_XIAO_ACCEL_PERIOD_US 10000u   /* 100 Hz */
#define SW_XIAO_RING_SLOTS 2048u         /* 2 s at 1 kHz (protocol 12.4) */
#define SW_XIAO_SAMPLES_PER_DMA 10u      /* sample times per SAADC buffer (10 ms at 1 kHz) */

/* LSM6DS3TR-C (ST DS12208): registers used, and the settings written. */
#define SW_LSM6_I2C_ADDR 0x6Au
#define SW_LSM6_WHO_AM_I 0x0Fu
#define SW_LSM6_WHO_AM_I_VALUE 0x6Au
#define SW_LSM6_CTRL1_XL 0x10u
#define SW_LSM6_CTRL1_XL_104HZ_2G 0x40u  /* ODR_XL = 104 Hz, FS_XL = +-2 g */
#define SW_LSM6_CTRL3_C 0x12u
#define SW_LSM6_CTRL3_C_BDU_IF_INC 0x44u /* block data update, register auto-increment */
#define SW_LSM6_OUTX_L_XL 0x28u          /* 6 bytes: X, Y, Z little-endian */
#define SW_LSM6_G_PER_COUNT 0.000061f    /* 0.061 mg/LSB at +-2 g */

/* ---- device description ------------------------------------------------------------ */

/* The sw_board of this build, for a device_id read from the chip (FICR DEVICEID). */
const sw_board *xiao_board(uint64_t device_id);

/* SAADC full-scale voltage and the total gain reported in DEVICE_INFO for this build. */
float xiao_adc_span_v(void);
float xiao_total_gain(void);

/* SAADC result (single-ended, 12 bit; may dip slightly below 0) to signed counts. */
int16_t xiao_counts_from_saadc(int16_t raw);

/* ---- battery ------------------------------------------------------------------------ */

/* Battery voltage in mV from the SAADC result of the battery divider (AIN7). */
uint16_t xiao_battery_mv(int16_t raw);

/* Approximate state of charge of a LiPo cell at rest, 0..100 %, from its voltage. */
uint8_t xiao_battery_pct(uint16_t mv);

/*
 * STATUS power fields: battery from the divider, charging from the charger's status pin
 * (active low), USB power present.
 */
void xiao_power(int16_t vbat_raw, bool charging, bool usb_power, sw_power *out);

/* ---- accelerometer ------------------------------------------------------------------ */

/*
 * The IMU's output registers OUTX_L_XL..OUTZ_H_XL to x, y, z in the protocol's body frame
 * (x up the spine, y to the wearer's left, z forward). For the mounting in hardware/wiring.md
 * (component side away from the skin, USB-C up) body = (X, -Y, -Z) of the IMU; change
 * SW_XIAO_AXIS_* for another mounting. Negation saturates (-32768 -> 32767).
 */
#ifndef SW_XIAO_AXIS_MAP
/* source axis (0 = X, 1 = Y, 2 = Z) and sign of body x, y, z */
#define SW_XIAO_AXIS_MAP {{0, +1}, {1, -1}, {2, -1}}
#endif
void xiao_imu_to_body(const uint8_t out_regs[6], int16_t xyz[3]);

/* ---- Bluetooth LE (protocol section 12) ---------------------------------------------- */

/* 0 = service, 1 = data characteristic, 2 = command characteristic: 128-bit UUID, LSB first. */
void xiao_uuid_le(unsigned which, uint8_t out[16]);

/* Advertising data (flags, 128-bit service UUID list); returns its length (21). */
size_t xiao_adv_data(uint8_t out[31]);

/* Scan response (Complete Local Name "spasmwatch-XXXX"); returns its length (17). */
size_t xiao_scan_response(uint64_t device_id, uint8_t out[31]);

/* "spasmwatch-XXXX" (XXXX = low 16 bits of device_id, upper-case hex), NUL-terminated. */
void xiao_ble_name(uint64_t device_id, char out[16]);

/* device_id as 16 upper-case hex digits (Device Information: Serial Number String). */
void xiao_serial_string(uint64_t device_id, char out[17]);

/* "major.minor.patch" (Device Information: Firmware Revision String). */
void xiao_firmware_string(char out[12]);

/*
 * Notifications for one encoded frame at an ATT MTU: with MTU >= 247 one notification
 * carries the whole frame; below, consecutive notifications of MTU - 3 bytes. Returns the
 * length of the chunk starting at `offset` (0 when the frame is done).
 */
size_t xiao_notify_chunk(size_t frame_len, size_t offset, uint16_t att_mtu);

/* ---- command bytes from the BLE task to the main loop -------------------------------- */

/*
 * Single-producer (BLE write callback) / single-consumer (main loop) byte queue: the core's
 * sw_device_rx() must run in the main loop only. 32-bit indices, written by one side each.
 */
#define SW_XIAO_RXQ_SIZE 256u
typedef struct xiao_rxq {
    uint8_t buf[SW_XIAO_RXQ_SIZE];
    volatile uint32_t head;
    volatile uint32_t tail;
    volatile uint32_t dropped;
} xiao_rxq;

/* Producer: append n bytes; bytes that do not fit are dropped and counted. */
void xiao_rxq_put(xiao_rxq *q, const uint8_t *data, size_t n);
/* Consumer: take up to n bytes; returns how many. */
size_t xiao_rxq_get(xiao_rxq *q, uint8_t *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* SW_XIAO_BOARD_H */
