"""Layer 3, checks: machine state, the simulator, randomized verification, the symbolic prover
(with SMT), pairing, certificates, the execution check under qemu.
"""
