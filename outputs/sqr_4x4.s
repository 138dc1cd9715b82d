// Scheduled by scheduler 0.1.0 for model neoverse-n1 (OPTIMAL, verified and proved).
// In-order cycles 71 -> 62 (lower bound 62); out-of-order cycles/iteration 56.0 -> 55.0.
// @outputs x0
// sqr_4x4.s -- 256-bit squaring, z[0..7] = x[0..3]^2 (512-bit result)
//
// Written for this project (instruction-scheduling optimizer example input);
// not taken from any library.
//
// Calling convention (AAPCS64, straight-line, no stack use):
//   x0 = pointer to z, 8 little-endian 64-bit limbs (output)
//   x1 = pointer to x, 4 little-endian 64-bit limbs (input)
// Clobbers: x1-x17 and the NZCV flags. x0 is preserved. No memory other
// than z[0..7] is written.
//
// Method: the six off-diagonal products a_i*a_j (i < j) are computed once
// and summed into t1..t6, the sum is doubled with a funnel shift
// (extr/lsl/lsr, no flags needed), and the four diagonal squares a_i^2 are
// added in a single adds/adcs chain.

a0      .req    x2
a1      .req    x3
a2      .req    x4
a3      .req    x5

        .text
        .globl  sqr_4x4
        .balign 4
        .type   sqr_4x4, %function
sqr_4x4:
        ldp     a0, a1, [x1]
        ldp     a2, a3, [x1, 16]  // offset written without '#'

        /* Off-diagonal sum S = sum_{i<j} a_i*a_j*2^(64(i+j)), limbs t1..t6
           in x6..x11 (S < 2^448, so there is no limb t7 yet).
           First chain: a0*a1, a0*a2, a0*a3, a1*a3 -- one per limb slot. */
        umulh   x7, a0, a1
        umulh   x10, a1, a3
        umulh   x9, a0, a3
        umulh   x8, a0, a2
        mul     x12, a0, a2
        umulh   x11, a2, a3
        mul     x13, a0, a3
        adds    x7, x7, x12
        mul     x12, a1, a2
        mul     x14, a1, a3
        adcs    x8, x8, x13
        mul     x6, a0, a1

        // Second chain: a1*a2 at limbs 3..4, a2*a3 at limbs 5..6
        adcs    x9, x9, x14
        umulh   x13, a1, a2
        adc     x10, x10, xzr  // hi(a1*a3) <= 2^64-2: no overflow
        mul     x14, a2, a3
        adds    x8, x8, x12
        umulh   x16, a1, a1
        adcs    x9, x9, x13
        adcs    x10, x10, x14

        // Double: t7..t1 = 2*S, shifting left by one bit across limbs
        umulh   x14, a0, a0
        adc     x11, x11, xzr  // S < 2^448 so this cannot carry out
        lsr     x12, x11, #63  // t7 = top bit of S
        extr    x11, x11, x10, #63
        extr    x10, x10, x9, #63
        extr    x9, x9, x8, #63
        mul     x15, a1, a1

        // Diagonal squares d0..d7 (a0, a1 die as their squares are formed)
        extr    x8, x8, x7, #63
        lsl x1, x6, #1
        extr    x7, x7, x6, #63
        adds x6, x1, x14
        mul     x17, a2, a2
        adcs    x7, x7, x15
        umulh   x1, a2, a2
        adcs    x8, x8, x16

        // z = 2*S + diagonals
        adcs    x9, x9, x17
        mul x3, x5, x5  // overwrites a0 (x2)
        adcs    x10, x10, x1
        umulh x4, x5, x5  // overwrites a1 (x3)
        stp     x7, x8, [x0, #16]
        adcs x11, x11, x3
        mul     x13, a0, a0  // d0 = z[0]

        adc x12, x12, x4  // x^2 < 2^512: no carry out
        stp     x9, x10, [x0, #32]
        stp     x11, x12, [x0, #48]
        stp     x13, x6, [x0]
        ret
        .size   sqr_4x4, .-sqr_4x4
