/* Host-compiled tests of the firmware core. Usage: sw_tests PATH/protocol_v1_vectors.json */
#include <stdio.h>

#include "check.h"
#include "tests.h"

int check_failures = 0;
int check_count = 0;
const char *check_test = "";

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s docs/protocol_v1_vectors.json\n", argv[0]);
        return 2;
    }
    run_vector_tests(argv[1]);
    run_ring_tests();
    run_device_tests(argv[1]);
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures == 0 && check_count > 0 ? 0 : 1;
}
