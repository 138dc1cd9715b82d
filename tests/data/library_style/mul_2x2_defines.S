// mul_2x2_defines.S -- 2x2-limb schoolbook product, library style:
// registers named with #define, block comments per row.
// z[0..3] = x[0..1] * y[0..1]
// @outputs none

#define zp      x0
#define xp      x1
#define yp      x2

#define a0      x3
#define a1      x4
#define b0      x5
#define b1      x6
#define r0      x7
#define r1      x8
#define r2      x9
#define r3      x10
#define lo      x11
#define hi      x12

	.text
	.globl	mul_2x2
	.type	mul_2x2, %function
mul_2x2:
	// load the operands
	ldp	a0, a1, [xp]
	ldp	b0, b1, [yp]

	// row 0
	mul	r0, a0, b0
	umulh	r1, a0, b0
	mul	lo, a1, b0          // a1*b0, low half
	umulh	hi, a1, b0
	adds	r1, r1, lo
	adc	r2, hi, xzr
	// row 1
	mul	lo, a0, b1
	umulh	hi, a0, b1
	adds	r1, r1, lo
	adcs	r2, r2, hi
	adc	r3, xzr, xzr
	mul	lo, a1, b1
	umulh	hi, a1, b1
	adds	r2, r2, lo
	adc	r3, r3, hi

	// store
	stp	r0, r1, [zp]
	stp	r2, r3, [zp, #16]
	ret
	.size	mul_2x2, .-mul_2x2
