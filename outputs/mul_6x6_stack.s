// Scheduled by scheduler 0.1.0 for model neoverse-n1 (OPTIMAL, verified and proved).
// In-order cycles 245 -> 188 (lower bound 188); out-of-order cycles/iteration 188.0 -> 187.0.
// @outputs x0
// mul_6x6_stack.s -- 384 x 384 -> 768-bit multiplication,
//                    z[0..11] = x[0..5] * y[0..5]
//
// Written for this project (instruction-scheduling optimizer example input);
// not taken from any library.  It exists to exercise callee-saved register
// pushes/pops and stack spills in an otherwise straight-line kernel.
//
// Calling convention (AAPCS64, straight-line):
//   x0 = pointer to z, 12 little-endian 64-bit limbs (output)
//   x1 = pointer to x,  6 little-endian 64-bit limbs (input)
//   x2 = pointer to y,  6 little-endian 64-bit limbs (input)
// Clobbers: x1-x17 and the NZCV flags. x0 is preserved; x19-x24 are used
// but saved and restored (AAPCS64 callee-saved), sp is restored exactly,
// x18/x29/x30 are not touched.  Writes z[0..11] and 80 bytes of its own
// stack frame below the incoming sp (48 bytes of saved registers plus a
// 32-byte spill area).
//
// Method: operand scanning, one row per limb of x; row i adds x[i]*y into a
// 7-limb window using two carry chains (low halves, then high halves one
// limb up).  With all twelve input limbs in registers and six temporaries
// per row there are not enough registers, so x[3], x[4], x[5] are parked
// in the spill area right after loading and reloaded when their row comes.
//
// Register map (a = x limbs, b = y limbs, r = result limbs):
//   a0..a2 = x3, x4, x5    b0..b5 = x9..x14
//   r0..r6 = x15, x16, x17, x19, x20, x21, x22 (row 0)
//   r7 = x3, r8 = x4, r9 = x5, r10 = x6, r11 = x2 (registers of dead values)
//   a3 -> x7, a4 -> x2, a5 -> x16 when reloaded

        .text
        .globl  mul_6x6_stack
        .balign 4
        .type   mul_6x6_stack, %function
mul_6x6_stack:
        // save callee-saved registers, then open a 32-byte spill area
        ldp     x3, x4, [x1]  // a0, a1
        ldp     x9, x10, [x2]  // b0, b1
        ldp     x11, x12, [x2, #16]  // b2, b3
        stp     x19, x20, [sp, #-16]!

        stp     x21, x22, [sp, #-16]!
        ldp     x5, x6, [x1, #16]  // a2, a3
        umulh   x16, x3, x9
        ldp     x7, x8, [x1, #32]  // a4, a5
        ldp     x13, x14, [x2, #32]  // b4, b5
        stp     x23, x24, [sp, #-16]!
        mul     x2, x3, x11
        mul     x1, x3, x10

        /* Row 0: r0..r6 = a0 * b.  Low halves go to x1, x2, x6, x7, x8
           (the pointers and the spilled limbs are no longer needed). */
        sub     sp, sp, #(16*2)
        str     x6, [sp, #8]  // spill a3
        umulh   x17, x3, x10
        adds    x16, x16, x1
        stp     x7, x8, [sp, #16]  // spill a4, a5
        ldr     x7, [sp, #8]
        umulh   x19, x3, x11
        adcs    x17, x17, x2
        mul     x6, x3, x12
        umulh   x20, x3, x12
        mul x23, x3, x13
        adcs    x19, x19, x6
        umulh   x21, x3, x13
        adcs x20, x20, x23
        mul     x8, x3, x14
        umulh   x22, x3, x14
        mul     x1, x4, x9
        adcs    x21, x21, x8

        // Row 1: r1..r7 += a1 * b, r7 = x3 (a0 is dead)
        mul     x2, x4, x10
        adc     x22, x22, xzr
        adds    x16, x16, x1
        mul     x6, x4, x11
        adcs    x17, x17, x2
        mul x23, x4, x12
        mul     x8, x4, x13
        adcs    x19, x19, x6
        mul x24, x4, x14
        adcs x20, x20, x23
        adcs    x21, x21, x8
        umulh   x1, x4, x9
        adcs x22, x22, x24
        umulh   x2, x4, x10
        cset x23, cs
        mul x24, x7, x14
        adds    x17, x17, x1
        umulh   x6, x4, x11
        umulh x1, x4, x12
        umulh   x8, x4, x13
        adcs    x19, x19, x2
        adcs    x20, x20, x6
        adcs x21, x21, x1
        umulh x1, x4, x14
        adcs    x22, x22, x8
        mul     x15, x5, x9

        // Row 2: r2..r8 += a2 * b, r8 = x4 (a1 is dead)
        adc x23, x23, x1
        mul x2, x5, x10
        mul x1, x5, x11
        mul x4, x5, x12
        adds    x17, x17, x15
        adcs x19, x19, x2
        mul     x2, x5, x13
        adcs x20, x20, x1
        mul     x6, x5, x14
        adcs x21, x21, x4
        adcs    x22, x22, x2
        umulh   x15, x5, x9
        umulh x1, x5, x10
        adcs x23, x23, x6
        adc     x4, xzr, xzr
        umulh x2, x5, x11
        adds    x19, x19, x15
        adcs x20, x20, x1
        umulh   x1, x5, x12
        adcs x21, x21, x2
        umulh   x2, x5, x13
        umulh   x6, x5, x14
        adcs    x22, x22, x1
        adcs x23, x23, x2
        mul     x8, x7, x9

        // Row 3: r3..r9 += a3 * b, a3 reloaded into x7, r9 = x5 (a2 is dead)
        ldr     x2, [sp, #16]
        mul x1, x7, x10
        adc     x4, x4, x6
        adds    x19, x19, x8
        mul     x15, x7, x11
        adcs x20, x20, x1
        stp     x17, x19, [x0, #16]  // z[2], z[3]
        mul x19, x7, x12
        mul x1, x7, x13
        adcs    x21, x21, x15
        adcs x22, x22, x19
        mul     x15, x2, x14
        adcs x23, x23, x1
        umulh   x8, x7, x9
        adcs x4, x4, x24
        cset    x5, cs
        umulh x24, x7, x10
        adds    x20, x20, x8
        umulh x19, x7, x11
        adcs x21, x21, x24
        umulh x24, x7, x12
        ldr x6, [sp, #24]
        adcs x22, x22, x19
        umulh x19, x7, x13
        umulh   x1, x7, x14
        adcs x23, x23, x24
        mul     x17, x2, x9

        // Row 4: r4..r10 += a4 * b, a4 reloaded into x2, r10 = x6
        add     sp, sp, #32
        adcs x4, x4, x19
        adc     x5, x5, x1
        mul     x19, x2, x10
        adds    x20, x20, x17
        mul     x7, x2, x11
        mul     x8, x2, x12
        adcs    x21, x21, x19
        mul x24, x2, x13
        adcs    x22, x22, x7
        adcs x23, x23, x8
        mul x19, x6, x14
        adcs x4, x4, x24
        umulh   x17, x2, x9
        adcs    x5, x5, x15
        cset x24, cs
        umulh x1, x2, x10
        umulh   x7, x2, x11
        adds    x21, x21, x17
        adcs x22, x22, x1
        umulh   x8, x2, x12
        adcs x23, x23, x7
        umulh x1, x2, x13
        adcs    x4, x4, x8
        umulh   x15, x2, x14
        adcs x5, x5, x1

        // Row 5: r5..r11 += a5 * b, a5 reloaded into x16, r11 = x2 (a4 is dead)
        mul x1, x6, x9
        mul x2, x6, x10
        mul x17, x6, x11
        adc x24, x24, x15
        adds x21, x21, x1
        stp     x20, x21, [x0, #32]  // z[4], z[5]
        mul x21, x6, x12
        adcs x22, x22, x2
        mul x7, x6, x13
        umulh x1, x6, x10
        adcs x20, x23, x17
        adcs x4, x4, x21
        umulh x23, x6, x9
        adcs    x5, x5, x7
        adcs x2, x24, x19
        cset x7, cs
        umulh x17, x6, x11
        adds x22, x22, x23
        ldp     x23, x24, [sp], #16
        umulh x19, x6, x12
        adcs x21, x20, x1
        stp x22, x21, [x0, #48]
        umulh x1, x6, x13
        ldp     x21, x22, [sp], #16
        adcs    x4, x4, x17
        adcs    x5, x5, x19

        umulh x8, x6, x14
        ldp     x19, x20, [sp], #16
        mul     x15, x3, x9
        adcs x6, x2, x1

        // close the spill area and restore callee-saved registers
        adc x2, x7, x8  // top limb: the product fits in 768 bits
        stp     x4, x5, [x0, #64]
        stp     x6, x2, [x0, #80]  // z[10], z[11]
        stp     x15, x16, [x0]  // z[0], z[1]
        ret
        .size   mul_6x6_stack, .-mul_6x6_stack
