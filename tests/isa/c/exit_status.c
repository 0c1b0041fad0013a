/* exit(42) must stop the machine with status 42 (SiFive test finisher:
 * (42 << 16) | 0x3333). Registered with an expected status of 42. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("exit_status: exiting with 42\n");
    exit(42);
}
