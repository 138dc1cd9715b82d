// Scheduled by scheduler 0.1.0 for model neoverse-n1 (OPTIMAL, verified and proved).
// Objective ooo: OoO cycles/iteration 10.67 -> 10.67 (+0.0%), bound 10.67, gap 0.0%.
// In-order cycles 19 -> 19 (lower bound 19).
	.text
k:
	mov x5, #4
	mov x9, #1
loop:
	ldr x3, [x1], #8
	mul x7, x3, x9
	mul x7, x7, x9
	umulh x9, x3, x3
	add x11, x9, x3
	stp x7, x11, [x0], #16
	sub x5, x5, #1
	cbnz x5, loop
	ret
