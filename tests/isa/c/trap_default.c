/* An unexpected trap must be reported by the runtime (mcause/mepc/mtval)
 * and stop the machine with status 99. Registered with an expected status of
 * 99 and the expected message. */
#include <stdio.h>

int main(void) {
    printf("trap_default: executing an illegal instruction\n");
    __asm__ volatile(".4byte 0xc0001073"); /* unimp */
    printf("trap_default: FAIL: execution continued\n");
    return 0;
}
