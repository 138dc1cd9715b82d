// Scheduled by scheduler 0.1.0 for model neoverse-n1 (FEASIBLE, verified and proved).
// In-order cycles 148 -> 119 (lower bound 114); out-of-order cycles/iteration 102.0 -> 101.0.
// montmul_p256.S -- Montgomery multiplication modulo the NIST P-256 prime
//
//   z = x * y * 2^-256 mod p,   p = 2^256 - 2^224 + 2^192 + 2^96 - 1
//
// Written for this project (instruction-scheduling optimizer example input);
// not taken from any library.  Goes through the C preprocessor (.S).
//
// Calling convention (AAPCS64, straight-line, no stack use):
//   x0 = pointer to z, 4 little-endian 64-bit limbs (output, in [0, p))
//   x1 = pointer to x, 4 little-endian 64-bit limbs (input, x < p)
//   x2 = pointer to y, 4 little-endian 64-bit limbs (input, y < p)
// Clobbers: x1-x17 and the NZCV flags. x0 is preserved. No memory other
// than z[0..3] is written.
//
// Method:
//   1. t = x*y, full 512-bit schoolbook product in t0..t7.
//   2. Four Montgomery steps on the low half.  Since p = -1 mod 2^64, the
//      quotient -t0/p mod 2^64 is just t0 itself (-p^-1 mod 2^64 = 1), and
//        (t + q*p) / 2^64 = t[1..] + q*2^32 + q*p3*2^128,
//      with p3 = 0xffffffff00000001 the top limb of p (the q*2^32 term comes
//      from q*(p0 + p1*2^64) = q*2^96 - q, done with lsl/lsr by 32).
//      The window stays 4 limbs wide and rotates by one register each step.
//   3. Add the high half t4..t7, giving a value < 2p in 257 bits, and
//      subtract p once if that value is >= p (subs/sbcs + csel).
// product limbs; t5..t7 reuse the registers of a0..a2 once they are dead
// scratch for the multiplication (xp, yp are dead after the loads)





// reduction constants and scratch (a3, b0..b3 are dead after the product)
        .text
        .globl montmul_p256
        .balign 4
        .type montmul_p256, %function
montmul_p256:
        ldp x9, x10, [x2, #16]
        ldp x3, x4, [x1]
        ldp x7, x8, [x2]
        ldp x5, x6, [x1, #16]

/* ---- 1. t0..t7 = x * y -------------------------------------------- */

        // row 0: t0..t4 = a0 * b
        mul x17, x3, x9
        mul x16, x3, x8
        umulh x12, x3, x7
        mul x1, x3, x10
        adds x12, x12, x16
        umulh x13, x3, x8
        umulh x14, x3, x9
        mul x16, x4, x7
        umulh x15, x3, x10
        adcs x13, x13, x17
        mul x17, x4, x8
        adcs x14, x14, x1

        // row 1: t1..t5 += a1 * b
        adc x15, x15, xzr
        mul x1, x4, x9
        adds x12, x12, x16
        umulh x16, x4, x7
        adcs x13, x13, x17
        adcs x14, x14, x1
        mul x2, x4, x10
        umulh x17, x4, x8
        umulh x1, x4, x9
        adcs x15, x15, x2
        mul x11, x3, x7
        cset x3, cs
        umulh x2, x4, x10
        adds x13, x13, x16
        adcs x14, x14, x17
        mul x16, x5, x7
        adcs x15, x15, x1

        // row 2: t2..t6 += a2 * b
        mul x1, x5, x9
        mul x17, x5, x8
        adc x3, x3, x2
        adds x13, x13, x16
        mul x2, x5, x10
        adcs x14, x14, x17
        umulh x17, x5, x8
        adcs x15, x15, x1
        adcs x3, x3, x2
        cset x4, cs
        umulh x16, x5, x7
        umulh x1, x5, x9
        adds x14, x14, x16
        umulh x2, x5, x10
        adcs x15, x15, x17
        adcs x3, x3, x1
        mul x16, x6, x7

        // row 3: t3..t7 += a3 * b
        adc x4, x4, x2
        mul x17, x6, x8
        mul x1, x6, x9
        adds x14, x14, x16
        adcs x15, x15, x17
        umulh x16, x6, x7
        mov x7, #0xffffffff  // p1 = 0x00000000ffffffff, p2 = 0
        mul x2, x6, x10
        adcs x3, x3, x1
        umulh x17, x6, x8
        adcs x4, x4, x2
        cset x5, cs
        umulh x1, x6, x9
        lsl x9, x11, #32
        adds x15, x15, x16
        umulh x2, x6, x10
        adcs x3, x3, x17

/* ---- 2. Montgomery-reduce the low half --------------------------------
   Each step: q = w0; (w1, w2, w3, new) = w[1..3] + q*2^32 + q*p3*2^128.
   The bound (w + q*p)/2^64 < 2^256 keeps the window at 4 limbs.  After
   four steps the window (back in t0..t3) is <= p.                      */

        lsr x10, x11, #32

        // step 0: q = t0, window t1 t2 t3 | t0
        mov x6, #0xffffffff00000001
        mov x8, #-1  // p0 = 0xffffffffffffffff
        mul x16, x11, x6
        adcs x4, x4, x1
        adc x5, x5, x2
        umulh x11, x11, x6
        adds x12, x12, x9
        adcs x13, x13, x10

        // step 1: q = t1, window t2 t3 t0 | t1
        adcs x14, x14, x16
        lsl x9, x12, #32
        lsr x10, x12, #32
        mul x16, x12, x6
        adc x11, x11, xzr
        umulh x12, x12, x6
        adds x13, x13, x9
        adcs x14, x14, x10

        // step 2: q = t2, window t3 t0 t1 | t2
        lsr x10, x13, #32
        adcs x11, x11, x16
        mul x16, x13, x6
        lsl x9, x13, #32
        umulh x13, x13, x6
        adc x12, x12, xzr
        adds x14, x14, x9
        adcs x11, x11, x10

        // step 3: q = t3, window t0 t1 t2 | t3 (original order again)
        adcs x12, x12, x16
        mul x16, x14, x6
        lsl x9, x14, #32
        lsr x10, x14, #32
        adc x13, x13, xzr
        umulh x14, x14, x6
        adds x11, x11, x9
        adcs x12, x12, x10

/* ---- 3. add the high half, then one conditional subtraction of p ---- */

        adcs x13, x13, x16
        adc x14, x14, xzr
        adds x11, x11, x15
        adcs x12, x12, x3
        adcs x13, x13, x4

        adcs x14, x14, x5
        cset x17, cs  // bit 256 of the (< 2p) sum
        subs x9, x11, x8
        sbcs x10, x12, x7
        sbcs x16, x13, xzr
        sbcs x15, x14, x6
        sbcs xzr, x17, xzr  // C clear <=> sum < p: keep the sum
        csel x11, x11, x9, cc
        csel x12, x12, x10, cc
        csel x13, x13, x16, cc
        stp x11, x12, [x0]

        csel x14, x14, x15, cc
        stp x13, x14, [x0, #16]
        ret
        .size montmul_p256, .-montmul_p256
