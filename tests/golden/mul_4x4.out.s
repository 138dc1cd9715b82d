// Scheduled by scheduler 0.1.0 for model neoverse-n1 (OPTIMAL, verified and proved).
// Objective ooo: OoO cycles/iteration 112 -> 112 (+0.0%), bound 112, gap 0.0%.
// In-order cycles 131 -> 119 (lower bound 119).
// @outputs x0
// mul_4x4.s -- 256 x 256 -> 512-bit multiplication, z[0..7] = x[0..3] * y[0..3]
//
// Written for this project (instruction-scheduling optimizer example input);
// not taken from any library.
//
// Calling convention (AAPCS64, straight-line, no stack use):
//   x0 = pointer to z, 8 little-endian 64-bit limbs (output)
//   x1 = pointer to x, 4 little-endian 64-bit limbs (input)
//   x2 = pointer to y, 4 little-endian 64-bit limbs (input)
//   z may not overlap x or y (all inputs are loaded first, but the
//   caller should not rely on that).
// Clobbers: x1-x17 and the NZCV flags. x0 is preserved. No memory other
// than z[0..7] is written.
//
// Method: operand scanning ("row by row").  Row i adds x[i]*y to the
// running sum, low halves of the four partial products in one adds/adcs
// chain, high halves in a second chain one limb further up.

        .text
        .globl  mul_4x4
        .balign 4
        .type   mul_4x4, %function
mul_4x4:
        // load both operands: a0..a3 = x3..x6, b0..b3 = x7..x10
        ldp     x7, x8, [x2]
        ldp     x3, x4, [x1]
        ldp     x9, x10, [x2, #16]
        mul     x16, x3, x8

        /* Row 0: r0..r4 (x11..x15) = a0 * (b0..b3).
           x1 and x2 are free now and serve as temporaries. */
        umulh   x12, x3, x7
        ldp     x5, x6, [x1, #16]
        umulh   x13, x3, x8
        adds    x12, x12, x16
        mul     x17, x3, x9
        umulh   x14, x3, x9
        adcs    x13, x13, x17
        mul x11, x4, x7
        mul x15, x3, x10
        umulh x2, x3, x10
        adcs x14, x14, x15
        mul x1, x4, x8

        // Row 1: r1..r5 += a1 * (b0..b3); r5 lives in x3 (a0 is dead)
        adc x2, x2, xzr  // cannot overflow: a0*b < 2^320
        adds x11, x12, x11
        umulh   x16, x4, x7
        mul x17, x4, x9
        adcs x1, x13, x1
        umulh x15, x4, x8
        adcs x17, x14, x17
        mul x12, x4, x10
        umulh x13, x4, x9
        adcs x2, x2, x12
        cset x14, cs  // carry out of the low-half chain
        adds x16, x1, x16
        adcs x15, x17, x15
        mul x12, x5, x7
        adcs x13, x2, x13
        umulh x4, x4, x10
        mul x1, x5, x8
        adc x14, x14, x4

        // Row 2: r2..r6 += a2 * (b0..b3); r6 lives in x4 (a1 is dead)
        adds x12, x16, x12
        umulh x17, x5, x7
        adcs x1, x15, x1
        mul x2, x5, x9
        umulh x4, x5, x8
        adcs x2, x13, x2
        mul x16, x5, x10
        umulh x15, x5, x9
        adcs x14, x14, x16
        mul x16, x6, x7
        adc x13, xzr, xzr
        adds x17, x1, x17
        adcs x4, x2, x4
        umulh x5, x5, x10
        adcs x15, x14, x15
        mul x1, x6, x8
        adc x13, x13, x5

        // Row 3: r3..r7 += a3 * (b0..b3); r7 lives in x5 (a2 is dead)
        adds x16, x17, x16
        stp x12, x16, [x0, #16]
        mul x14, x6, x9
        umulh x2, x6, x7
        adcs x1, x4, x1
        umulh x8, x6, x8
        adcs x14, x15, x14
        mul x5, x6, x10
        umulh x9, x6, x9
        adcs x5, x13, x5
        cset x17, cs
        adds x2, x1, x2
        umulh x6, x6, x10
        adcs x12, x14, x8
        stp x2, x12, [x0, #32]
        adcs x16, x5, x9
        mul x3, x3, x7

        // store z[2..7]
        adc x17, x17, x6  // top limb; the full product fits in 512 bits
        stp x16, x17, [x0, #48]
        stp x3, x11, [x0]  // z[0], z[1] are final
        ret
        .size   mul_4x4, .-mul_4x4
