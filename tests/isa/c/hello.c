/* Runtime smoke test: console output, .data/.bss/TLS set-up, constructors,
 * malloc, atexit, exit status. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int initialised = 12345;
static char zeroed[4096];
static int ctor_ran;
static _Thread_local int tls_counter = 7;

__attribute__((constructor)) static void ctor(void) { ctor_ran = initialised; }

static void bye(void) { printf("hello: atexit handler ran\n"); }

int main(void) {
    printf("hello from a bare-metal RISC-V program\n");
    CHECK_EQ(initialised, 12345);
    int all_zero = 1;
    for (size_t i = 0; i < sizeof zeroed; i++) all_zero &= zeroed[i] == 0;
    CHECK(all_zero);
    CHECK_EQ(ctor_ran, 12345);
    CHECK_EQ(tls_counter, 7);
    tls_counter++;
    CHECK_EQ(tls_counter, 8);
    errno = 0;
    CHECK(strtol("99999999999999999999", NULL, 10) == INT64_MAX && errno == ERANGE);
    char *p = malloc(1 << 20);
    CHECK(p != NULL);
    if (p) {
        memset(p, 0x5a, 1 << 20);
        CHECK_EQ(p[(1 << 20) - 1], 0x5a);
    }
    free(p);
    CHECK_EQ(atexit(bye), 0);
    return check_done("hello");
}
