"""Measuring kernels on the machine itself: `scheduler bench`, `optimize --judge bench` and
`scheduler calibrate` (docs/bench.md).

* measure.py: what a measurement is (samples, statistics, the noise rule) and the Executor
  protocol every way of measuring implements, so tests can inject a fake one;
* harness.py: the real executor: GNU as + a generated C driver, run natively on AArch64 or
  under qemu-user (then every figure is flagged emulated);
* fakecore.py: a synthetic core that "measures" by simulating, for deterministic tests and
  the worked example of docs/bench.md;
* judge.py: `optimize --judge bench`; calibrate.py: `scheduler calibrate`;
* command.py: the command-line parsers and commands.
"""
