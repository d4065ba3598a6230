/* A minimal test framework: CHECK() records a failure and carries on. */
#ifndef SW_TEST_CHECK_H
#define SW_TEST_CHECK_H

#include <stdio.h>

extern int check_failures;
extern int check_count;
extern const char *check_test;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        ++check_count;                                                                   \
        if (!(cond)) {                                                                   \
            ++check_failures;                                                            \
            fprintf(stderr, "FAIL %s (%s:%d): %s\n", check_test, __FILE__, __LINE__, #cond); \
        }                                                                                \
    } while (0)

#define CHECK_EQ(a, b)                                                                   \
    do {                                                                                 \
        long long check_a_ = (long long)(a);                                             \
        long long check_b_ = (long long)(b);                                             \
        ++check_count;                                                                   \
        if (check_a_ != check_b_) {                                                      \
            ++check_failures;                                                            \
            fprintf(stderr, "FAIL %s (%s:%d): %s == %lld, expected %s == %lld\n", check_test, \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_);                     \
        }                                                                                \
    } while (0)

#endif
