/*
 * Reset and exception vectors of the bare-metal Cortex-M3 image for QEMU's mps2-an385.
 *
 * The vector table is the ARMv7-M layout (ARMv7-M Architecture Reference Manual, B1.5.3):
 * initial stack pointer, then the handlers of exceptions 1..15. Only SysTick is used; every
 * other exception stops the program with a semihosting exit, so a fault shows up as QEMU
 * exiting instead of a silent hang.
 */
#include <stdint.h>

#include "semihost.h"

extern uint32_t _stack_top;
extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end;

int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);
static void fault_handler(void);

typedef void (*vector_fn)(void);

__attribute__((section(".vectors"), used)) static const vector_fn vectors[16] = {
    (vector_fn)(uintptr_t)&_stack_top, /* 0: initial main stack pointer */
    Reset_Handler,                     /* 1: reset */
    fault_handler,                     /* 2: NMI */
    fault_handler,                     /* 3: HardFault */
    fault_handler,                     /* 4: MemManage */
    fault_handler,                     /* 5: BusFault */
    fault_handler,                     /* 6: UsageFault */
    0,
    0,
    0,
    0,
    fault_handler,   /* 11: SVCall */
    fault_handler,   /* 12: DebugMonitor */
    0,
    fault_handler,   /* 14: PendSV */
    SysTick_Handler, /* 15: SysTick */
};

void Reset_Handler(void)
{
    uint32_t *src = &_data_load;
    uint32_t *dst = &_data_start;
    while (dst < &_data_end) {
        *dst++ = *src++;
    }
    for (dst = &_bss_start; dst < &_bss_end; ++dst) {
        *dst = 0u;
    }
    (void)main();
    semihost_exit(0);
}

static void fault_handler(void)
{
    semihost_write0("spasmwatch-qemu: unexpected exception\n");
    semihost_exit(3);
}
