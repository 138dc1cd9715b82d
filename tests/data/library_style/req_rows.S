// req_rows.S -- sums of rows, library style: .req aliases, #define offsets,
// a macro for loading a row pair, and two blocks separated by a label.
// @outputs none

#define OFF(i)  ((i) * 8)
#define dst     x0
#define src     x1

sa	.req	x2
sb	.req	x3
sc	.req	x4
sd	.req	x5
u0	.req	x6
u1	.req	x7

.macro LOADPAIR r0, r1, base, off
	ldp	\r0, \r1, [\base, #\off]
.endm

	.text
	.globl	req_rows
req_rows:
	LOADPAIR sa, sb, src, 0
	LOADPAIR sc, sd, src, 16
	// first sum
	add	u0, sa, sb
	add	u0, u0, sc
	add	u0, u0, sd
	str	u0, [dst]
	// second: the products
	mul	u1, sa, sb
	mul	sc, sc, sd
	add	u1, u1, sc
	str	u1, [dst, #OFF(1)]
1:
	ldr	sa, [src, #OFF(4)]
	ldr	sb, [src, #OFF(5)]
	mul	sa, sa, sa       // square
	mul	sb, sb, sb       // square
	add	sa, sa, sb
	eor	u0, sa, sa, lsr #7
	ldr	sc, [src, #OFF(6)]
	ldr	sd, [src, #OFF(7)]
	mul	sc, sc, sd
	add	u0, u0, sc
	str	u0, [dst, #OFF(2)]
	ret
