// Scheduled by scheduler 0.1.0 for model neoverse-n1 (OPTIMAL, verified and proved).
// Objective ooo: OoO cycles/iteration 80 -> 80 (+0.0%), bound 80, gap 0.0%.
// In-order cycles 106 -> 89 (lower bound 88).
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
        mul     x16, x3, x8
        ldp     x9, x10, [x2, #16]

        /* Row 0: r0..r4 (x11..x15) = a0 * (b0..b3).
           x1 and x2 are free now and serve as temporaries. */
        ldp     x5, x6, [x1, #16]
        umulh   x12, x3, x7
        umulh   x13, x3, x8
        mul     x17, x3, x9
        umulh   x14, x3, x9
        adds    x12, x12, x16
        mul     x1, x3, x10
        umulh   x15, x3, x10
        mul     x16, x4, x7
        adcs    x13, x13, x17
        mul x17, x4, x8
        adcs    x14, x14, x1

        // Row 1: r1..r5 += a1 * (b0..b3); r5 lives in x3 (a0 is dead)
        adc     x15, x15, xzr  // cannot overflow: a0*b < 2^320
        mul     x1, x4, x9
        adds    x12, x12, x16
        mul     x2, x4, x10
        adcs    x13, x13, x17
        mul     x11, x3, x7
        adcs    x14, x14, x1
        umulh   x16, x4, x7
        adcs    x15, x15, x2
        cset    x3, cs  // carry out of the low-half chain
        umulh   x17, x4, x8
        adds    x13, x13, x16
        umulh   x1, x4, x9
        adcs    x14, x14, x17
        umulh   x2, x4, x10
        adcs    x15, x15, x1
        mul     x16, x5, x9
        stp     x11, x12, [x0]  // z[0], z[1] are final

        // Row 2: r2..r6 += a2 * (b0..b3); r6 lives in x4 (a1 is dead)
        mul     x11, x5, x7
        mul     x12, x5, x8
        adc     x3, x3, x2
        mul     x17, x5, x10
        adds    x13, x13, x11
        adcs    x14, x14, x12
        umulh   x11, x5, x7
        adcs    x15, x15, x16
        umulh   x12, x5, x8
        adcs    x3, x3, x17
        adc     x4, xzr, xzr
        umulh   x16, x5, x9
        adds    x14, x14, x11
        adcs    x15, x15, x12
        umulh   x17, x5, x10
        adcs    x3, x3, x16
        mul     x16, x6, x9

        // Row 3: r3..r7 += a3 * (b0..b3); r7 lives in x5 (a2 is dead)
        mul     x11, x6, x7
        mul     x12, x6, x8
        adc     x4, x4, x17
        adds    x14, x14, x11
        mul     x17, x6, x10
        adcs    x15, x15, x12
        umulh   x11, x6, x7
        adcs    x3, x3, x16
        adcs    x4, x4, x17
        umulh   x12, x6, x8
        cset    x5, cs
        umulh   x16, x6, x9
        adds    x15, x15, x11
        adcs    x3, x3, x12
        umulh   x17, x6, x10
        stp     x13, x14, [x0, #16]
        adcs    x4, x4, x16

        // store z[2..7]
        stp     x15, x3, [x0, #32]
        adc     x5, x5, x17  // top limb; the full product fits in 512 bits
        stp     x4, x5, [x0, #48]
        ret
        .size   mul_4x4, .-mul_4x4
