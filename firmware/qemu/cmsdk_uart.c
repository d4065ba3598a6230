/* Polled driver of the CMSDK APB UART (see cmsdk_uart.h). */
#include "cmsdk_uart.h"

/* Register offsets (ARM DDI 0479C, table 4-8). */
#define UART_DATA 0x00u     /* [7:0] received / to transmit */
#define UART_STATE 0x04u    /* bit 0 TX buffer full, bit 1 RX buffer full, 2/3 overruns */
#define UART_CTRL 0x08u     /* bit 0 TX enable, bit 1 RX enable */
#define UART_INTSTATUS 0x0Cu /* write 1 to clear */
#define UART_BAUDDIV 0x10u

#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define STATE_OVERRUNS 0xCu
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u

static volatile uint32_t *reg(uint32_t base, uint32_t offset)
{
    return (volatile uint32_t *)(uintptr_t)(base + offset);
}

void cmsdk_uart_init(uint32_t base, uint32_t bauddiv)
{
    *reg(base, UART_CTRL) = 0u;
    *reg(base, UART_BAUDDIV) = bauddiv < 16u ? 16u : bauddiv;
    *reg(base, UART_STATE) = STATE_OVERRUNS; /* clear overrun flags */
    *reg(base, UART_INTSTATUS) = 0xFu;
    *reg(base, UART_CTRL) = CTRL_TX_EN | CTRL_RX_EN;
}

void cmsdk_uart_write(uint32_t base, const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        while ((*reg(base, UART_STATE) & STATE_TX_FULL) != 0u) {
        }
        *reg(base, UART_DATA) = data[i];
    }
}

bool cmsdk_uart_read(uint32_t base, uint8_t *byte)
{
    if ((*reg(base, UART_STATE) & STATE_RX_FULL) == 0u) {
        return false;
    }
    *byte = (uint8_t)(*reg(base, UART_DATA) & 0xFFu);
    return true;
}
