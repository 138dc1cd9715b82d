#!/usr/bin/env bash
# Debian packages the test suite and benchmarks use. Idempotent; installs only what is missing.
#   - GNU as for AArch64 (binutils-aarch64-linux-gnu): tests assemble every instruction form and
#     cross-check expression evaluation against the real assembler
#   - gcc-aarch64-linux-gnu + qemu-user: `scheduler verify --exec` builds a harness and runs
#     both kernels as a real AArch64 binary
#   - the C preprocessor for .S files
#   - llvm-mca 19 (independent Neoverse N1 model, used by benchmarks/compare when present):
#     only with --with-llvm-mca
set -euo pipefail
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
want=()
command -v aarch64-linux-gnu-as >/dev/null || want+=(binutils-aarch64-linux-gnu)
command -v aarch64-linux-gnu-gcc >/dev/null || want+=(gcc-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || want+=(qemu-user)
if [ "${1:-}" = "--with-llvm-mca" ] && ! command -v llvm-mca-19 >/dev/null; then
  want+=(llvm-19)
fi
command -v gcc >/dev/null || command -v cpp >/dev/null || want+=(cpp)
if [ ${#want[@]} -gt 0 ]; then
  echo "setup-debian: installing ${want[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${want[@]}" >/dev/null
fi
