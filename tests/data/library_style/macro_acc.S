// macro_acc.S -- multiply-accumulate built from a macro, library style.
// acc[0..2] += x[0] * y[0..1]  (three limbs, no carry out)
// @outputs none

#define accp    x0
#define xp      x1
#define yp      x2
#define a       x3
#define b0      x4
#define b1      x5
#define c0      x6
#define c1      x7
#define c2      x8
#define t0      x9
#define t1      x10
#define t2      x11
#define t3      x12

// (hi:lo) = a * b
.macro MUL128 rlo, rhi, ra, rb
	mul	\rlo, \ra, \rb
	umulh	\rhi, \ra, \rb
.endm

	.text
	.globl	macro_acc
macro_acc:
	ldr	a, [xp]
	ldp	b0, b1, [yp]
	/* the two partial products */
	MUL128	t0, t1, a, b0
	MUL128	t2, t3, a, b1
	// accumulate
	ldp	c0, c1, [accp]
	ldr	c2, [accp, #16]
	adds	c0, c0, t0
	adcs	c1, c1, t1
	adc	c2, c2, t3
	adds	c1, c1, t2
	adc	c2, c2, xzr
	stp	c0, c1, [accp]
	str	c2, [accp, #16]
	// a second, independent product: x[1] * y[0]
	ldr	a, [xp, #8]
	MUL128	t0, t1, a, b0
	stp	t0, t1, [accp, #24]
	ret
