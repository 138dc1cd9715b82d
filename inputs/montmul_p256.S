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

#define z       x0
#define xp      x1
#define yp      x2

#define a0      x3
#define a1      x4
#define a2      x5
#define a3      x6
#define b0      x7
#define b1      x8
#define b2      x9
#define b3      x10

// product limbs; t5..t7 reuse the registers of a0..a2 once they are dead
#define t0      x11
#define t1      x12
#define t2      x13
#define t3      x14
#define t4      x15
#define t5      x3
#define t6      x4
#define t7      x5

// scratch for the multiplication (xp, yp are dead after the loads)
#define u0      x16
#define u1      x17
#define u2      x1
#define u3      x2

// reduction constants and scratch (a3, b0..b3 are dead after the product)
#define pw3     x6
#define pw1     x7
#define pw0     x8
#define v0      x9
#define v1      x10
#define v2      x16
#define top     x17

        .text
        .globl  montmul_p256
        .balign 4
        .type   montmul_p256, %function
montmul_p256:
        ldp     a0, a1, [xp]
        ldp     a2, a3, [xp, #16]
        ldp     b0, b1, [yp]
        ldp     b2, b3, [yp, #16]

/* ---- 1. t0..t7 = x * y -------------------------------------------- */

        // row 0: t0..t4 = a0 * b
        mul     t0, a0, b0
        umulh   t1, a0, b0
        mul     u0, a0, b1
        umulh   t2, a0, b1
        mul     u1, a0, b2
        umulh   t3, a0, b2
        mul     u2, a0, b3
        umulh   t4, a0, b3
        adds    t1, t1, u0
        adcs    t2, t2, u1
        adcs    t3, t3, u2
        adc     t4, t4, xzr

        // row 1: t1..t5 += a1 * b
        mul     u0, a1, b0
        mul     u1, a1, b1
        mul     u2, a1, b2
        mul     u3, a1, b3
        adds    t1, t1, u0
        adcs    t2, t2, u1
        adcs    t3, t3, u2
        adcs    t4, t4, u3
        cset    t5, cs
        umulh   u0, a1, b0
        umulh   u1, a1, b1
        umulh   u2, a1, b2
        umulh   u3, a1, b3
        adds    t2, t2, u0
        adcs    t3, t3, u1
        adcs    t4, t4, u2
        adc     t5, t5, u3

        // row 2: t2..t6 += a2 * b
        mul     u0, a2, b0
        mul     u1, a2, b1
        mul     u2, a2, b2
        mul     u3, a2, b3
        adds    t2, t2, u0
        adcs    t3, t3, u1
        adcs    t4, t4, u2
        adcs    t5, t5, u3
        cset    t6, cs
        umulh   u0, a2, b0
        umulh   u1, a2, b1
        umulh   u2, a2, b2
        umulh   u3, a2, b3
        adds    t3, t3, u0
        adcs    t4, t4, u1
        adcs    t5, t5, u2
        adc     t6, t6, u3

        // row 3: t3..t7 += a3 * b
        mul     u0, a3, b0
        mul     u1, a3, b1
        mul     u2, a3, b2
        mul     u3, a3, b3
        adds    t3, t3, u0
        adcs    t4, t4, u1
        adcs    t5, t5, u2
        adcs    t6, t6, u3
        cset    t7, cs
        umulh   u0, a3, b0
        umulh   u1, a3, b1
        umulh   u2, a3, b2
        umulh   u3, a3, b3
        adds    t4, t4, u0
        adcs    t5, t5, u1
        adcs    t6, t6, u2
        adc     t7, t7, u3

/* ---- 2. Montgomery-reduce the low half --------------------------------
   Each step: q = w0; (w1, w2, w3, new) = w[1..3] + q*2^32 + q*p3*2^128.
   The bound (w + q*p)/2^64 < 2^256 keeps the window at 4 limbs.  After
   four steps the window (back in t0..t3) is <= p.                      */

        mov     pw3, #0xffffffff00000001

        // step 0: q = t0, window t1 t2 t3 | t0
        lsl     v0, t0, #32
        lsr     v1, t0, #32
        mul     v2, t0, pw3
        umulh   t0, t0, pw3
        adds    t1, t1, v0
        adcs    t2, t2, v1
        adcs    t3, t3, v2
        adc     t0, t0, xzr

        // step 1: q = t1, window t2 t3 t0 | t1
        lsl     v0, t1, #32
        lsr     v1, t1, #32
        mul     v2, t1, pw3
        umulh   t1, t1, pw3
        adds    t2, t2, v0
        adcs    t3, t3, v1
        adcs    t0, t0, v2
        adc     t1, t1, xzr

        // step 2: q = t2, window t3 t0 t1 | t2
        lsl     v0, t2, #32
        lsr     v1, t2, #32
        mul     v2, t2, pw3
        umulh   t2, t2, pw3
        adds    t3, t3, v0
        adcs    t0, t0, v1
        adcs    t1, t1, v2
        adc     t2, t2, xzr

        // step 3: q = t3, window t0 t1 t2 | t3 (original order again)
        lsl     v0, t3, #32
        lsr     v1, t3, #32
        mul     v2, t3, pw3
        umulh   t3, t3, pw3
        adds    t0, t0, v0
        adcs    t1, t1, v1
        adcs    t2, t2, v2
        adc     t3, t3, xzr

/* ---- 3. add the high half, then one conditional subtraction of p ---- */

        adds    t0, t0, t4
        adcs    t1, t1, t5
        adcs    t2, t2, t6
        adcs    t3, t3, t7
        cset    top, cs                 // bit 256 of the (< 2p) sum

        mov     pw0, #-1                // p0 = 0xffffffffffffffff
        mov     pw1, #0xffffffff        // p1 = 0x00000000ffffffff, p2 = 0
        subs    v0, t0, pw0
        sbcs    v1, t1, pw1
        sbcs    v2, t2, xzr
        sbcs    t4, t3, pw3
        sbcs    xzr, top, xzr           // C clear <=> sum < p: keep the sum
        csel    t0, t0, v0, cc
        csel    t1, t1, v1, cc
        csel    t2, t2, v2, cc
        csel    t3, t3, t4, cc

        stp     t0, t1, [z]
        stp     t2, t3, [z, #16]
        ret
        .size   montmul_p256, .-montmul_p256
