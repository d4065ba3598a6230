#ifndef SW_TESTS_H
#define SW_TESTS_H
#include <stddef.h>
#include <stdint.h>
size_t hex_decode(const char *hex, uint8_t *out, size_t cap);
uint32_t hz_to_mhz(double hz);
void run_vector_tests(const char *vectors_path);
void run_ring_tests(void);
void run_device_tests(const char *vectors_path);
#endif
