// Scheduled by scheduler 0.1.0 for model neoverse-n1 (FEASIBLE, verified and proved).
// In-order cycles 753 -> 524 (lower bound 379); out-of-order cycles/iteration 385.0 -> 374.0.
// @outputs x0
// mix64_x2_reuse.s -- two independent 64-bit multiply/xorshift mixing chains, one after the other
//
// Written for this project (instruction-scheduling optimizer example input);
// not taken from any library.
//
// Calling convention (AAPCS64, straight-line):
//   x0 = a, x1 = b (64-bit inputs), x2 = pointer to 2 output words, x5 = odd multiplier k
//   out[0] = mix(a), out[1] = mix(b), where mix applies ROUNDS = 75 rounds of
//   x ^= x >> 29; x *= k  (mod 2^64).
// Clobbers: x3 (NZCV is untouched).  No memory other than out[0..1] is written.
//
// Written with heavy register reuse: both chains live in x3, so as written the second
// chain cannot start before the first has finished.  Each chain is latency-bound (a
// multiply every 4+1 cycles); interleaving the two needs a second register -- which
// reordering alone cannot give, and renaming can.  At 152 instructions per chain the
// chains are also longer than a 128-micro-op out-of-order window.

        .text
        .globl  mix64_x2_reuse
        .balign 4
        .type   mix64_x2_reuse, %function
mix64_x2_reuse:
        mov     x3, x0
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        mov x4, x1
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul x6, x3, x5
        eor x3, x4, x4, lsr #29
        mul     x3, x3, x5
        eor x4, x6, x6, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor x4, x4, x4, lsr #29
        mul x4, x4, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        str x4, [x2]
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        eor     x3, x3, x3, lsr #29
        mul     x3, x3, x5
        str     x3, [x2, #8]
        ret
        .size   mix64_x2_reuse, .-mix64_x2_reuse
