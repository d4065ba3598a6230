/*
 * ARM semihosting (ARM "Semihosting for AArch32 and AArch64", version 2.0): the program asks
 * the debugger - here QEMU, started with -semihosting-config enable=on,target=native - to
 * do file I/O on the host. On M-profile the request is "bkpt 0xAB" with the operation in r0
 * and a pointer to its parameter block in r1; the result comes back in r0.
 */
#ifndef SW_QEMU_SEMIHOST_H
#define SW_QEMU_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

/* Open a host file for reading in binary mode; returns a handle, or -1. */
int semihost_open_rb(const char *path);
/* Length of an open file in bytes, or -1. */
long semihost_flen(int handle);
/* Read up to n bytes; returns the number of bytes read. */
size_t semihost_read(int handle, void *buf, size_t n);
void semihost_close(int handle);
/* The command line QEMU was given with -semihosting-config arg=...; 0 on success. */
int semihost_cmdline(char *buf, size_t size);
/* Print a NUL-terminated string on QEMU's semihosting console (its stderr/stdout). */
void semihost_write0(const char *text);
/* Stop QEMU with an exit status. */
void semihost_exit(int status) __attribute__((noreturn));

#endif /* SW_QEMU_SEMIHOST_H */
