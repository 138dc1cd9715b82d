// Scheduled by scheduler 0.1.0 for model neoverse-n1 (FEASIBLE, verified and proved).
// In-order cycles 627 -> 271 (lower bound 240); out-of-order cycles/iteration 234.0 -> 234.0.
// @outputs x0
// mul_8x8_neon: 512 x 512 -> 1024-bit multiplication, z[0..15] = x[0..7] * y[0..7].
//
// Limbs are 64-bit, little-endian (limb 0 least significant).
// Calling convention (AAPCS64 leaf, straight-line, no stack use):
//     x0 = z, pointer to 16 output limbs
//     x1 = x, pointer to 8 input limbs
//     x2 = y, pointer to 8 input limbs
// z must not overlap x or y: x4..x7 and y4..y7 are reloaded after z[0..7]
// have been stored.
// Clobbers: x3-x17, v0-v7, v16-v31 and NZCV, all caller-saved. x0-x2 are
// preserved; x18-x30, sp and v8-v15 are not touched. Only z[0..15] is written.
//
// Method: product scanning, one column of the 64 partial products at a time,
// with a 3-word accumulator rotating through x11-x14 so that finished z limbs
// can be stored in pairs with stp. Columns 0-7 keep x0..x3 in x3-x6 and slide
// a window of y limbs through x7-x10; columns 8-14 keep y4..y7 in x7-x10 and
// slide a window of x limbs through x3-x6. x15-x17 are product temporaries.
// The 16 products x4..x7 * y0..y3 are computed completely on NEON (32x32-bit
// partial products with umull/umull2, recombined with usra/and/umlal/sli), and
// the low halves of x4*y4, x5*y5, x6*y6, x7*y7 too (rev64/mul.4s/uaddlp/shl/
// umlal); the scalar side reads them with mov xN, vM.d[i]. The other 44
// products and the four high halves use mul/umulh.
//
// Written for this project (an example input for the scheduler); not taken
// from any other code base.

// Column step, first product of a column: (a0, a1, a2) = (a0, a1) + xa*yb,
// a2 is set from the carry.
.macro mulacc0 a0, a1, a2, xa, yb, tl, th
        mul     \tl, \xa, \yb
        umulh   \th, \xa, \yb
        adds    \a0, \a0, \tl
        adcs    \a1, \a1, \th
        adc     \a2, xzr, xzr
.endm

// Column step: (a0, a1, a2) += xa*yb.
.macro mulacc a0, a1, a2, xa, yb, tl, th
        mul     \tl, \xa, \yb
        umulh   \th, \xa, \yb
        adds    \a0, \a0, \tl
        adcs    \a1, \a1, \th
        adc     \a2, \a2, xzr
.endm

// Column step with a product computed on NEON: (a0, a1, a2) += hi:lo,
// lo and hi are vector elements such as v24.d[1].
.macro vecacc a0, a1, a2, lo, hi, tl, th
        mov     \tl, \lo
        mov     \th, \hi
        adds    \a0, \a0, \tl
        adcs    \a1, \a1, \th
        adc     \a2, \a2, xzr
.endm

// Column step for a diagonal product: low half from NEON, high half by umulh.
.macro diagacc a0, a1, a2, lo, xa, yb, tl, th
        mov     \tl, \lo
        umulh   \th, \xa, \yb
        adds    \a0, \a0, \tl
        adcs    \a1, \a1, \th
        adc     \a2, \a2, xzr
.endm

        .text
        .balign 4
        .globl  mul_8x8_neon
        .type   mul_8x8_neon, %function
mul_8x8_neon:

// ---- loads: x0..x3 and y0..y3 into GPRs, x4..x7 and y0..y7 into q registers
        ldp     x3, x4, [x1]
        movi    v16.2d, #0x00000000ffffffff
        ldp     x7, x8, [x2]
        ldp     x9, x10, [x2, #16]
        ldp     q4, q5, [x2, #32]  // v4 = (y4, y5), v5 = (y6, y7)
        ldp     q0, q1, [x1, #32]  // v0 = (x4, x5), v1 = (x6, x7)
        umulh   x12, x3, x7

// ---- NEON set-up: 32-bit halves of x4..x7, the low-32 mask
        ldp     q2, q3, [x2]  // v2 = (y0, y1), v3 = (y2, y3)
        mul     x15, x3, x8  // x0*y1
        umulh   x13, x3, x8

// ---- NEON: low halves of the diagonal products x4*y4, x5*y5 (v17) and x6*y6, x7*y7 (v20):
//      lo(a*b) = al*bl + ((al*bh + ah*bl) mod 2^32) << 32   (mod 2^64)
        rev64   v17.4s, v4.4s  // (y4h, y4l, y5h, y5l)
        rev64   v20.4s, v5.4s  // (y6h, y6l, y7h, y7l)
        uzp1    v6.4s, v0.4s, v1.4s  // v6 = (x4l, x5l, x6l, x7l)
        uzp1    v21.4s, v4.4s, v5.4s  // (y4l, y5l, y6l, y7l)
        adds    x12, x12, x15
        xtn     v18.2s, v0.2d  // (x4l, x5l)
        mul     v20.4s, v1.4s, v20.4s
        mul     x17, x4, x7
        xtn     v19.2s, v4.2d  // (y4l, y5l)
        mul     v17.4s, v0.4s, v17.4s  // cross products mod 2^32
        uzp2    v22.4s, v2.4s, v2.4s  // (y0h, y1h, y0h, y1h)
        adc     x13, x13, xzr
        umulh   x15, x4, x7

// ---- NEON: full 128-bit products x4..x7 times y0, y1 (lanes pair x4,x5 / x6,x7 with y0,y1 or y1,y0)
        uzp2    v7.4s, v0.4s, v1.4s  // v7 = (x4h, x5h, x6h, x7h)
        umull2  v0.2d, v6.4s, v22.4s  // xl*yh
        adds    x12, x12, x17
        uaddlp  v20.2d, v20.4s
        // P1: v24/v25 = x4*y0, x5*y1
        umull   v25.2d, v7.2s, v22.2s  // xh*yh
        mul     x16, x3, x9
        umull2  v27.2d, v7.4s, v22.4s  // xh*yh
        uaddlp  v17.2d, v17.4s  // x4l*y4h + x4h*y4l, x5l*y5h + x5h*y5l
        ldp     x5, x6, [x1, #16]
        shl     v20.2d, v20.2d, #32
        adcs    x13, x13, x15
        umulh   x17, x3, x9
        shl     v17.2d, v17.2d, #32
        // P2: v26/v27 = x6*y0, x7*y1
        umlal2  v20.2d, v6.4s, v21.4s  // v20 = (lo(x6*y6), lo(x7*y7))
        adc     x14, xzr, xzr
        adds    x13, x13, x16
        uzp1    v21.4s, v2.4s, v2.4s  // (y0l, y1l, y0l, y1l)
        mul     x11, x3, x7
        umlal   v17.2d, v18.2s, v19.2s  // v17 = (lo(x4*y4), lo(x5*y5))
        rev64   v2.4s, v22.4s  // (y1h, y0h, y1h, y0h)
        rev64   v23.4s, v21.4s  // (y1l, y0l, y1l, y0l)
        umull   v24.2d, v6.2s, v21.2s  // xl*yl
        // P3: v28/v29 = x4*y1, x5*y0
        adcs    x14, x14, x17
        mul     x15, x4, x8
        umull   v18.2d, v6.2s, v22.2s  // xl*yh
        stp     x11, x12, [x0]
        umulh   x16, x4, x8
        uzp2    v22.4s, v3.4s, v3.4s  // (y2h, y3h, y2h, y3h)
        umull   v29.2d, v7.2s, v2.2s  // xh*yh
        umull   v28.2d, v6.2s, v23.2s  // xl*yl
        adc     x11, xzr, xzr
        // P4: v30/v31 = x6*y1, x7*y0
        umull2  v26.2d, v6.4s, v21.4s  // xl*yl
        adds    x13, x13, x15
        usra    v18.2d, v24.2d, #32  // t = xl*yh + (xl*yl >> 32)
        umull2  v30.2d, v6.4s, v23.4s  // xl*yl
        mul     x17, x5, x7
        umull2  v31.2d, v7.4s, v2.4s  // xh*yh
        adcs    x14, x14, x16
        umulh   x15, x5, x7
        umull2  v5.2d, v7.4s, v22.4s  // xh*yh

// ---- scalar: columns 0..5 (x0..x3 fixed in x3..x6, y window in x7..x10)
        // column 0
        usra    v0.2d, v26.2d, #32  // t = xl*yh + (xl*yl >> 32)
        adc     x11, x11, xzr

        // column 1: z1 in x12, carry into x13:x14
        and     v19.16b, v18.16b, v16.16b  // u = t mod 2^32
        usra    v25.2d, v18.2d, #32
        adds    x13, x13, x17
        umull   v18.2d, v6.2s, v2.2s  // xl*yh
        mul     x16, x3, x10  // x1*y0
        umlal   v19.2d, v7.2s, v21.2s  // u += xh*yl
        and     v1.16b, v0.16b, v16.16b  // u = t mod 2^32
        usra    v27.2d, v0.2d, #32
        adcs    x14, x14, x15
        umulh   x17, x3, x10

        // column 2: z2 in x13, carry into x14:x11
        umull2  v0.2d, v6.4s, v2.4s  // xl*yh  // x0*y2
        adc     x11, x11, xzr
        umlal2  v1.2d, v7.4s, v21.4s  // u += xh*yl
        usra    v18.2d, v28.2d, #32  // t = xl*yh + (xl*yl >> 32)
        adds    x14, x14, x16
        usra    v25.2d, v19.2d, #32  // hi = xh*yh + (t >> 32) + (u >> 32)  // x1*y1
        mul     x15, x4, x9
        uzp1    v21.4s, v3.4s, v3.4s  // (y2l, y3l, y2l, y3l)
        sli     v24.2d, v19.2d, #32  // lo = (u << 32) | (xl*yl mod 2^32)
        usra    v0.2d, v30.2d, #32  // t = xl*yh + (xl*yl >> 32)
        adcs    x11, x11, x17  // x2*y0
        umulh   x16, x4, x9
        umull2  v4.2d, v6.4s, v21.4s  // xl*yl
        and     v19.16b, v18.16b, v16.16b  // u = t mod 2^32
        usra    v29.2d, v18.2d, #32

        // column 3: z3 in x14, carry into x11:x12
        adc     x12, xzr, xzr  // x0*y3
        usra    v27.2d, v1.2d, #32  // hi = xh*yh + (t >> 32) + (u >> 32)
        adds    x14, x14, x15
        umull   v18.2d, v6.2s, v22.2s  // xl*yh
        sli     v26.2d, v1.2d, #32  // lo = (u << 32) | (xl*yl mod 2^32)
        umlal   v19.2d, v7.2s, v23.2s  // u += xh*yl  // x1*y2
        mul     x17, x5, x8
        and     v1.16b, v0.16b, v16.16b  // u = t mod 2^32
        usra    v31.2d, v0.2d, #32
        adcs    x11, x11, x16
        umulh   x15, x5, x8  // x2*y1
        umull2  v0.2d, v6.4s, v22.4s  // xl*yh
        umlal2  v1.2d, v7.4s, v23.4s  // u += xh*yl
        adc     x12, x12, xzr
        usra    v29.2d, v19.2d, #32  // hi = xh*yh + (t >> 32) + (u >> 32)
        adds    x14, x14, x17  // x3*y0
        sli     v28.2d, v19.2d, #32  // lo = (u << 32) | (xl*yl mod 2^32)
        mul     x16, x6, x7
        usra    v0.2d, v4.2d, #32  // t = xl*yh + (xl*yl >> 32)
        usra    v31.2d, v1.2d, #32  // hi = xh*yh + (t >> 32) + (u >> 32)
        adcs    x11, x11, x15

        // column 4: z4 in x11, carry into x12:x13
        umulh   x17, x6, x7
        sli     v30.2d, v1.2d, #32  // lo = (u << 32) | (xl*yl mod 2^32)  // x0*y4
        adc     x12, x12, xzr
        adds    x14, x14, x16
        stp     x13, x14, [x0, #16]
        and     v1.16b, v0.16b, v16.16b  // u = t mod 2^32
        umulh   x15, x4, x10  // x1*y3
        ldr     x7, [x2, #32]  // y4 replaces y0
        adcs    x11, x11, x17
        usra    v5.2d, v0.2d, #32
        umlal2  v1.2d, v7.4s, v21.4s  // u += xh*yl
        adc     x12, x12, xzr  // x2*y2
        mul     x17, x4, x10
        mul x13, x3, x7
        usra    v5.2d, v1.2d, #32  // hi = xh*yh + (t >> 32) + (u >> 32)
        umulh   x16, x3, x7
        sli     v4.2d, v1.2d, #32  // lo = (u << 32) | (xl*yl mod 2^32)  // x3*y1
        adds x11, x11, x13
        mul x13, x5, x9
        adcs    x12, x12, x16
        umulh x14, x5, x9
        adc x16, xzr, xzr  // x4*y0 from NEON
        adds    x11, x11, x17
        adcs    x12, x12, x15
        adc x15, x16, xzr
        mul x17, x6, x8

        // column 5: z5 in x12, carry into x13:x14
        adds x11, x11, x13
        adcs x12, x12, x14  // x0*y5
        umulh   x16, x6, x8
        adc x13, x15, xzr
        ldr     x8, [x2, #40]  // y5 replaces y1
        adds x11, x11, x17
        mov     x15, v25.d[0]  // x1*y4
        umulh x14, x4, x7
        mov     x17, v24.d[0]
        adcs    x12, x12, x16
        mul     x16, x3, x8
        adc     x13, x13, xzr  // x2*y3
        adds    x11, x11, x17
        adcs    x12, x12, x15
        umulh   x17, x3, x8
        adc     x13, x13, xzr
        adds    x12, x12, x16  // x3*y2
        mul     x15, x4, x7
        adcs    x13, x13, x17
        mul x16, x5, x10
        adc x17, xzr, xzr
        adds    x12, x12, x15  // x4*y1 from NEON
        umulh   x15, x5, x10
        adcs x13, x13, x14
        adc x14, x17, xzr
        adds x12, x12, x16
        mul     x16, x6, x9  // x5*y0 from NEON
        umulh   x17, x6, x9
        adcs    x13, x13, x15
        adc     x14, x14, xzr
        mov     x15, v28.d[0]
        adds    x12, x12, x16

// ---- NEON: full 128-bit products x4..x7 times y2, y3 (reuses registers already extracted)
        mov     x16, v29.d[0]
        adcs    x13, x13, x17
        // P5: v28/v29 = x4*y2, x5*y3
        mov     x17, v28.d[1]
        umull   v28.2d, v6.2s, v21.2s  // xl*yl
        adc     x14, x14, xzr
        adds    x12, x12, x15
        mov     x15, v29.d[1]
        adcs    x13, x13, x16
        umull   v29.2d, v7.2s, v22.2s  // xh*yh
        adc     x14, x14, xzr
        adds    x12, x12, x17
        // P6: v4/v5 = x6*y2, x7*y3
        rev64   v22.4s, v22.4s  // (y3h, y2h, y3h, y2h)
        stp     x11, x12, [x0, #32]
        usra    v18.2d, v28.2d, #32  // t = xl*yh + (xl*yl >> 32)
        adcs    x13, x13, x15
        ldr     x9, [x2, #48]  // y6 replaces y2
        adc     x14, x14, xzr
        umull2  v0.2d, v7.4s, v22.4s  // xh*yh
        mul     x15, x4, x8
        umull2  v1.2d, v6.4s, v22.4s  // xl*yh
        and     v19.16b, v18.16b, v16.16b  // u = t mod 2^32
        usra    v29.2d, v18.2d, #32
        // P7: v2/v3 = x4*y3, x5*y2
        umull   v18.2d, v6.2s, v22.2s  // xl*yh
        mul     x16, x3, x9
        umlal   v19.2d, v7.2s, v21.2s  // u += xh*yl
        rev64   v21.4s, v21.4s  // (y3l, y2l, y3l, y2l)
        umulh   x17, x3, x9
        umull   v2.2d, v6.2s, v21.2s  // xl*yl
        adds    x13, x13, x16
        usra    v29.2d, v19.2d, #32  // hi = xh*yh + (t >> 32) + (u >> 32)
        umulh   x16, x4, x8
        // P8: v23/v0 = x6*y3, x7*y2
        umull2  v23.2d, v6.4s, v21.4s  // xl*yl
        usra    v18.2d, v2.2d, #32  // t = xl*yh + (xl*yl >> 32)
        adcs    x14, x14, x17
        adc     x11, xzr, xzr
        adds    x13, x13, x15
        mul     x17, x5, x7
        umull   v3.2d, v7.2s, v22.2s  // xh*yh
        usra    v1.2d, v23.2d, #32  // t = xl*yh + (xl*yl >> 32)
        adcs    x14, x14, x16

// ---- scalar: columns 6..13 (from column 8 on: y4..y7 fixed in x7..x10, x window in x3..x6)
        // column 6: z6 in x13, carry into x14:x11
        umulh   x15, x5, x7
        sli     v28.2d, v19.2d, #32  // lo = (u << 32) | (xl*yl mod 2^32)  // x0*y6
        and     v19.16b, v18.16b, v16.16b  // u = t mod 2^32
        usra    v3.2d, v18.2d, #32
        adc     x11, x11, xzr
        adds    x13, x13, x17
        umlal   v19.2d, v7.2s, v21.2s  // u += xh*yl  // x1*y5
        mul     x16, x6, x10
        and     v18.16b, v1.16b, v16.16b  // u = t mod 2^32
        usra    v0.2d, v1.2d, #32
        adcs    x14, x14, x15
        umulh   x17, x6, x10  // x2*y4
        umlal2  v18.2d, v7.4s, v21.4s  // u += xh*yl
        adc     x11, x11, xzr
        mov     x15, v28.d[0]
        ldr     x10, [x2, #56]  // y7 replaces y3
        adds    x13, x13, x16  // x3*y3
        mov     x16, v29.d[0]
        sli     v2.2d, v19.2d, #32  // lo = (u << 32) | (xl*yl mod 2^32)
        usra    v3.2d, v19.2d, #32  // hi = xh*yh + (t >> 32) + (u >> 32)
        adcs    x14, x14, x17
        mov     x17, v24.d[1]  // x4*y2 from NEON
        adc     x11, x11, xzr
        adds    x13, x13, x15
        mov     x15, v25.d[1]
        usra    v0.2d, v18.2d, #32  // hi = xh*yh + (t >> 32) + (u >> 32)
        adcs    x14, x14, x16  // x5*y1 from NEON
        adc     x11, x11, xzr
        adds    x13, x13, x17
        mov     x16, v26.d[0]
        adcs    x14, x14, x15
        mov     x17, v27.d[0]  // x6*y0 from NEON
        mul     x15, x3, x10
        adc     x11, x11, xzr
        adds    x13, x13, x16
        adcs    x14, x14, x17

        // column 7: z7 in x14, carry into x11:x12
        umulh   x16, x3, x10
        adc     x11, x11, xzr  // x0*y7
        adds    x14, x14, x15
        mul     x17, x4, x9
        adcs    x11, x11, x16
        umulh   x15, x4, x9
        adc     x12, xzr, xzr  // x1*y6
        adds    x14, x14, x17
        mul     x16, x5, x8
        adcs    x11, x11, x15
        umulh   x17, x5, x8
        adc     x12, x12, xzr  // x2*y5
        adds    x14, x14, x16
        mul     x15, x6, x7
        mov x3, v3.d[0]
        adcs    x11, x11, x17
        umulh   x16, x6, x7  // x3*y4
        adc     x12, x12, xzr
        adds    x14, x14, x15
        mov     x17, v2.d[0]
        adcs    x11, x11, x16
        mov x15, v2.d[1]  // x4*y3 from NEON
        adc     x12, x12, xzr
        adds    x14, x14, x17
        mov x16, v3.d[1]
        adcs x11, x11, x3
        mov x17, v30.d[0]  // x5*y2 from NEON
        adc     x12, x12, xzr
        adds x14, x14, x15
        mov x3, v31.d[0]
        adcs x11, x11, x16
        mov x15, v30.d[1]  // x6*y1 from NEON
        adc     x12, x12, xzr
        adds x14, x14, x17
        mov x16, v31.d[1]
        mul x17, x4, x10
        adcs x11, x11, x3  // x7*y0 from NEON
        adc     x12, x12, xzr
        adds x14, x14, x15
        adcs x11, x11, x16
        stp     x13, x14, [x0, #48]
        umulh x15, x4, x10

        // column 8: z8 in x11, carry into x12:x13
        adc     x12, x12, xzr
        ldr     x3, [x1, #32]  // x4 replaces x0  // x1*y7
        ldr     x4, [x1, #40]  // x5 replaces x1
        adds x11, x11, x17
        mul x17, x5, x9
        adcs x12, x12, x15
        sli     v23.2d, v18.2d, #32  // lo = (u << 32) | (xl*yl mod 2^32)  // x2*y6
        umulh   x16, x5, x9
        adc     x13, xzr, xzr
        adds x11, x11, x17
        mul     x17, x6, x8
        adcs    x12, x12, x16  // x3*y5
        umulh   x15, x6, x8
        adc     x13, x13, xzr
        adds    x11, x11, x17
        mov     x16, v17.d[0]
        umulh x2, x3, x7  // x4*y4, low half from NEON
        adcs    x12, x12, x15
        mov x14, v28.d[1]
        adc     x13, x13, xzr
        adds    x11, x11, x16
        mov x17, v4.d[0]  // x5*y3 from NEON
        adcs x12, x12, x2
        mov x15, v29.d[1]
        mul     x16, x3, x10
        adc     x13, x13, xzr
        adds x11, x11, x14  // x6*y2 from NEON
        mov x2, v5.d[0]
        adcs x12, x12, x15
        adc     x13, x13, xzr
        mov x14, v26.d[1]
        adds x11, x11, x17  // x7*y1 from NEON
        mov x15, v27.d[1]
        adcs x12, x12, x2
        mul x17, x5, x10
        adc     x13, x13, xzr

        // column 9: z9 in x12, carry into x13:x14
        adds x11, x11, x14
        adcs x12, x12, x15  // x2*y7
        umulh x2, x5, x10
        adc     x13, x13, xzr
        adds x12, x12, x17
        mul x15, x6, x9
        umulh x5, x6, x9  // x3*y6
        adcs x13, x13, x2
        adc     x14, xzr, xzr
        adds x12, x12, x15
        mul x17, x3, x8
        adcs x13, x13, x5  // x4*y5
        umulh x15, x3, x8
        adc     x14, x14, xzr
        adds x12, x12, x17
        mul x17, x4, x7
        adcs x13, x13, x15  // x5*y4
        umulh x2, x4, x7
        adc     x14, x14, xzr
        adds x12, x12, x17
        mov x15, v23.d[0]
        mov x5, v0.d[0]  // x6*y3 from NEON
        mul     x17, x3, x9
        adcs x13, x13, x2
        mov x2, v23.d[1]
        adc     x14, x14, xzr
        adds x12, x12, x15  // x7*y2 from NEON
        adcs x13, x13, x5
        mul     x15, x6, x10
        adc     x14, x14, xzr
        adds x12, x12, x2
        mov x5, v0.d[1]

        // column 10: z10 in x13, carry into x14:x11
        stp     x11, x12, [x0, #64]
        umulh x2, x6, x10  // x3*y7
        adcs x13, x13, x5
        ldr x12, [x1, #48]  // x6 replaces x2
        ldr     x6, [x1, #56]  // x7 replaces x3
        adc     x14, x14, xzr
        adds    x13, x13, x15  // x4*y6
        umulh   x15, x3, x9
        adcs x14, x14, x2
        adc x2, xzr, xzr
        mul x11, x12, x7
        adds    x13, x13, x17  // x6*y4
        umulh x17, x12, x7
        adcs    x14, x14, x15
        adc x15, x2, xzr
        adds x13, x13, x11
        umulh x11, x4, x8  // x5*y5, low half from NEON
        mov x2, v17.d[1]
        adcs    x14, x14, x17
        adc x15, x15, xzr
        adds x13, x13, x2
        umulh x5, x12, x8  // x7*y3 from NEON
        adcs x14, x14, x11
        mov     x17, v4.d[1]
        adc x11, x15, xzr
        adds    x13, x13, x17

        // column 11: z11 in x14, carry into x11:x12
        umulh x15, x3, x10
        mov x2, v5.d[1]  // x4*y7
        adcs x14, x14, x2
        mul x2, x4, x9
        adc     x11, x11, xzr
        adds    x14, x14, x16
        umulh   x16, x4, x9  // x5*y6
        adcs x11, x11, x15
        mul x17, x12, x8
        adc x15, xzr, xzr
        adds x14, x14, x2
        adcs    x11, x11, x16  // x6*y5
        umulh x2, x6, x8
        mul     x16, x6, x7
        adc x15, x15, xzr
        adds    x14, x14, x17
        adcs x11, x11, x5  // x7*y4
        umulh   x17, x6, x7
        mul x5, x4, x10
        adc x15, x15, xzr
        adds    x14, x14, x16
        umulh   x16, x4, x10

        // column 12: z12 in x11, carry into x12:x13
        stp     x13, x14, [x0, #80]  // x5*y7
        adcs    x11, x11, x17
        mul     x17, x6, x8
        adc x15, x15, xzr
        adds x11, x11, x5
        adcs x15, x15, x16  // x7*y5
        umulh x13, x12, x9
        adc x5, xzr, xzr
        adds    x11, x11, x17
        mov x14, v20.d[0]
        umulh x16, x12, x10  // x6*y6, low half from NEON
        adcs x2, x15, x2
        mul x15, x12, x10
        adc x5, x5, xzr
        adds x11, x11, x14

        // column 13: z13 in x12, carry into x13:x14
        adcs x12, x2, x13  // x6*y7
        adc x13, x5, xzr
        mul     x17, x6, x9
        adds    x12, x12, x15
        umulh   x15, x6, x9
        adcs    x13, x13, x16  // x7*y6
        adc     x14, xzr, xzr
        adds    x12, x12, x17
        umulh   x17, x6, x10  // hi(x7*y7)
        stp     x11, x12, [x0, #96]
        mov     x16, v20.d[1]  // lo(x7*y7) from NEON

        // column 14: z14 in x13, z15 in x14 (no carry out: the product fits in 1024 bits)
        adcs    x13, x13, x15
        adc     x14, x14, xzr
        adds    x13, x13, x16
        adc     x14, x14, x17
        stp     x13, x14, [x0, #112]

        ret
