/* ARM semihosting calls used by the QEMU board (see semihost.h). */
#include "semihost.h"

enum {
    SYS_OPEN = 0x01,
    SYS_CLOSE = 0x02,
    SYS_WRITE0 = 0x04,
    SYS_READ = 0x06,
    SYS_FLEN = 0x0C,
    SYS_GET_CMDLINE = 0x15,
    SYS_EXIT = 0x18,
};

/* ADP_Stopped_ApplicationExit: the reason code SYS_EXIT takes on 32-bit targets. */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static intptr_t semihost_call(uintptr_t op, const void *arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (intptr_t)r0;
}

static size_t text_len(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        ++n;
    }
    return n;
}

int semihost_open_rb(const char *path)
{
    /* Mode 1 is fopen's "rb". */
    uintptr_t block[3] = {(uintptr_t)path, 1u, (uintptr_t)text_len(path)};
    return (int)semihost_call(SYS_OPEN, block);
}

long semihost_flen(int handle)
{
    uintptr_t block[1] = {(uintptr_t)handle};
    return (long)semihost_call(SYS_FLEN, block);
}

size_t semihost_read(int handle, void *buf, size_t n)
{
    uintptr_t block[3] = {(uintptr_t)handle, (uintptr_t)buf, (uintptr_t)n};
    /* SYS_READ returns the number of bytes NOT read. */
    intptr_t left = semihost_call(SYS_READ, block);
    if (left < 0 || (size_t)left > n) {
        return 0;
    }
    return n - (size_t)left;
}

void semihost_close(int handle)
{
    uintptr_t block[1] = {(uintptr_t)handle};
    (void)semihost_call(SYS_CLOSE, block);
}

int semihost_cmdline(char *buf, size_t size)
{
    uintptr_t block[2] = {(uintptr_t)buf, (uintptr_t)size};
    return (int)semihost_call(SYS_GET_CMDLINE, block);
}

void semihost_write0(const char *text)
{
    (void)semihost_call(SYS_WRITE0, text);
}

void semihost_exit(int status)
{
    uintptr_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)status};
    for (;;) {
        (void)semihost_call(SYS_EXIT, block);
    }
}
