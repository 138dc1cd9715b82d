// Scheduled by scheduler 0.1.0 for model neoverse-n1 (OPTIMAL, verified and proved).
// Objective ooo: OoO cycles/iteration 12.5 -> 12.5 (+0.0%), bound 12.5, gap 0.0%.
// In-order cycles 33 -> 15 (lower bound 15).
// @outputs x0
// add_8_walk.s -- z[0..8] = z[0..7] + x[0..7]  (in-place 512-bit addition, carry out in z[8])
//
// Written for this project (instruction-scheduling optimizer example input);
// not taken from any library.
//
// Calling convention (AAPCS64, straight-line, no stack use):
//   x0 = pointer to z, 9 little-endian 64-bit limbs: z[0..7] in, z[0..8] out
//   x1 = pointer to x, 8 little-endian 64-bit limbs (input)
//   z may not overlap x (declared below, so loads of x may pass stores to z).
// Clobbers: x0, x1 (advanced past the buffers), x4-x7, x9 and NZCV.
//
// Written the way a pointer-walking loop is unrolled by hand: x advances with
// post-indexed loads, z with `add x0, x0, #16` after each post-less store, and
// every pair of limbs reuses x4-x7.  One adds/adcs chain runs through all
// eight limbs.  As written, each z load waits for the previous pair's store
// and pointer update; moving the loads up needs both renaming (x4-x7) and
// offset fixups (the load of z[2i] crosses i updates of x0).

// @noalias x0, x1
        .text
        .globl  add_8_walk
        .balign 4
        .type   add_8_walk, %function
add_8_walk:
        // limbs 0, 1
        add     x0, x0, #16
        ldp     x4, x5, [x1], #16
        ldp x6, x7, [x0, #-16]
        add     x0, x0, #16
        add     x0, x0, #16
        // limbs 2, 3
        ldp     x2, x3, [x1], #16
        ldp x8, x9, [x0, #-32]
        // limbs 4, 5
        ldp     x10, x11, [x1], #16
        add     x0, x0, #16
        adds    x6, x6, x4
        ldp x12, x13, [x0, #-32]
        adcs    x7, x7, x5
        // limbs 6, 7
        ldp     x4, x14, [x1], #16
        ldp x5, x15, [x0, #-16]
        adcs x1, x8, x2
        stp x6, x7, [x0, #-64]
        adcs x2, x9, x3
        stp x1, x2, [x0, #-48]
        adcs x6, x12, x10
        adcs x7, x13, x11
        stp x6, x7, [x0, #-32]
        adcs x1, x5, x4
        adcs x7, x15, x14
        cset    x9, cs
        stp x1, x7, [x0, #-16]
        str     x9, [x0]                // z[8]: the carry out
        ret
        .size   add_8_walk, .-add_8_walk
