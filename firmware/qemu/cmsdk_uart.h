/*
 * ARM CMSDK APB UART (ARM DDI 0479C, "Cortex-M System Design Kit Technical Reference
 * Manual", 4.5), as on the MPS2 AN385 (UART0 at 0x40004000). Polled: one byte of transmit
 * and one byte of receive buffer, no FIFO.
 */
#ifndef SW_QEMU_CMSDK_UART_H
#define SW_QEMU_CMSDK_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMSDK_UART0_BASE 0x40004000u

/* Enable transmitter and receiver; bauddiv = peripheral clock / baud rate (>= 16). */
void cmsdk_uart_init(uint32_t base, uint32_t bauddiv);
/* Write n bytes, waiting while the transmit buffer is full (the link's backpressure). */
void cmsdk_uart_write(uint32_t base, const uint8_t *data, size_t n);
/* Read one byte if one has arrived; false otherwise. */
bool cmsdk_uart_read(uint32_t base, uint8_t *byte);

#endif /* SW_QEMU_CMSDK_UART_H */
