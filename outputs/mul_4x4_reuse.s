// Scheduled by scheduler 0.1.0 for model neoverse-n1 (OPTIMAL, verified and proved).
// In-order cycles 145 -> 89 (lower bound 89); out-of-order cycles/iteration 80.0 -> 80.0.
// @outputs x0
// mul_4x4_reuse.s -- 256 x 256 -> 512-bit multiplication, z[0..7] = x[0..3] * y[0..3]
//
// Written for this project (instruction-scheduling optimizer example input);
// not taken from any library.
//
// @noalias x0, x1, x2
//
// Calling convention (AAPCS64, straight-line, no stack use):
//   x0 = pointer to z, 8 little-endian 64-bit limbs (output)
//   x1 = pointer to x, 4 little-endian 64-bit limbs (input)
//   x2 = pointer to y, 4 little-endian 64-bit limbs (input)
//   z must not overlap x or y (declared by the no-alias annotation above).
// Clobbers: x3-x14 and the NZCV flags. x0, x1, x2 are preserved. No memory
// other than z[0..7] is written.
//
// Style: this is written the way a register-starved hand-writer would, and
// it deliberately reuses very few registers so that most dependencies
// between the sixteen partial products are false (write-after-read and
// write-after-write) -- it is the benchmark case for register renaming:
//   * x3..x6  = x[0..3], loaded once;
//   * x7, x10 = one PAIR of y limbs at a time, (y0, y1) or (y2, y3); the
//     pair is re-loaded into the same two registers whenever the other pair
//     is needed (four ldp of y instead of two);
//   * x8 / x9 = the low / high half of EVERY product (mul / umulh), each
//     added at once into the column accumulators;
//   * x11..x14 = a rolling set of four accumulators.
//
// Method: product scanning ("column by column", Comba).  Column k adds the
// products x[i]*y[j] with i + j = k into a three-limb accumulator (c0, c1,
// c2): adds c0 += lo, adcs c1 += hi, adc c2 += carry.  Then c0 is the final
// limb z[k] and the accumulator rotates: (c1, c2, fresh) for column k + 1.
// A fourth accumulator register keeps z[k] alive (k even) until z[k+1] is
// ready, so that both can be stored with one stp.

        .text
        .globl  mul_4x4_reuse
        .balign 4
        .type   mul_4x4_reuse, %function
mul_4x4_reuse:
        ldp     x7, x10, [x2]  // y0, y1
        ldp     x3, x4, [x1]  // x0, x1
        ldp     x5, x6, [x1, #16]  // x2, x3

        // column 0: x0*y0.  z0 -> x11; the high half starts column 1.
        mul     x8, x3, x7
        umulh   x9, x3, x7
        mov     x11, x8  // z0

        // column 1 (x12, x13, x14): x0*y1 + x1*y0 + hi(x0*y0)
        mul     x8, x3, x10
        umulh x12, x3, x10
        adds x8, x9, x8
        mul x14, x4, x7
        adc x13, x12, xzr  // hi <= 2^64-2, so no carry out
        umulh x12, x4, x7
        adds x8, x8, x14
        mul x9, x5, x7
        stp x11, x8, [x0]  // z0, z1
        umulh x7, x5, x7

        // column 2 (x13, x14, x11): x2*y0 + x1*y1 + x0*y2
        adcs x13, x13, x12
        adc     x14, xzr, xzr
        adds x13, x13, x9
        ldp x11, x9, [x2, #16]  // y2, y3 (same registers as y0, y1)
        mul     x8, x4, x10
        umulh x10, x4, x10
        adcs x14, x14, x7
        adc x7, xzr, xzr
        adds    x13, x13, x8
        mul x8, x3, x11
        adcs x14, x14, x10
        umulh x12, x3, x11
        ldp x15, x10, [x2]  // y0, y1 again
        adc x7, x7, xzr
        mul x16, x3, x9
        umulh x9, x3, x9

        // column 3 (x14, x11, x12): x0*y3 + x1*y2 + x2*y1 + x3*y0
        adds    x13, x13, x8
        adcs x14, x14, x12
        adc x3, x7, xzr  // x13 = z2, kept for the stp below
        adds x14, x14, x16
        mul x8, x4, x11
        umulh x7, x4, x11
        adcs x11, x3, x9
        adc     x12, xzr, xzr
        adds    x14, x14, x8
        umulh   x9, x5, x10
        adcs x11, x11, x7
        adc     x12, x12, xzr
        mul x3, x5, x10
        mul x8, x6, x15
        adds x14, x14, x3
        umulh x3, x6, x15
        adcs    x11, x11, x9
        mul x7, x6, x10
        adc     x12, x12, xzr
        adds    x14, x14, x8
        ldp x15, x9, [x2, #16]  // y2, y3 again
        adcs x11, x11, x3

        // column 4 (x11, x12, x13): x3*y1 + x2*y2 + x1*y3
        umulh x8, x6, x10
        adc     x12, x12, xzr
        adds x11, x11, x7
        mul x3, x5, x15
        stp     x13, x14, [x0, #16]  // z2, z3
        umulh x7, x5, x15
        adcs x12, x12, x8
        adc     x13, xzr, xzr
        mul x8, x4, x9
        adds x11, x11, x3
        umulh x3, x4, x9
        mul x4, x6, x15
        adcs x12, x12, x7
        adc     x13, x13, xzr
        adds    x11, x11, x8
        umulh x7, x6, x15

        // column 5 (x12, x13, x14): x3*y2 + x2*y3
        adcs x12, x12, x3
        adc     x13, x13, xzr  // x11 = z4, kept for the stp below
        adds x12, x12, x4
        mul x8, x5, x9
        adcs x13, x13, x7
        mul x4, x6, x9
        umulh x3, x5, x9
        adc     x14, xzr, xzr
        umulh x9, x6, x9
        adds    x12, x12, x8
        stp     x11, x12, [x0, #32]  // z4, z5

        // column 6 (x13, x14): x3*y3; the full product fits in 512 bits,
        // so nothing carries out of the top limb.
        adcs x13, x13, x3
        adc     x14, x14, xzr
        adds x13, x13, x4
        adc     x14, x14, x9
        stp     x13, x14, [x0, #48]  // z6, z7
        ret
        .size   mul_4x4_reuse, .-mul_4x4_reuse
