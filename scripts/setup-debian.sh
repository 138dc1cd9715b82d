#!/usr/bin/env bash
# Debian packages the test suite and benchmarks use. Idempotent; installs only what is missing.
#   - an AArch64 assembler (tests assemble every instruction form): llvm-mc or GNU as
#   - llvm-mca 19 (independent Neoverse N1 model, used by benchmarks/compare when present):
#     only with --with-llvm-mca
set -euo pipefail
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
want=()
if ! command -v aarch64-linux-gnu-as >/dev/null && ! ls /usr/bin/llvm-mc* >/dev/null 2>&1; then
  want+=(binutils-aarch64-linux-gnu)
fi
if [ "${1:-}" = "--with-llvm-mca" ] && ! command -v llvm-mca-19 >/dev/null; then
  want+=(llvm-19)
fi
command -v gcc >/dev/null || command -v cpp >/dev/null || want+=(cpp)
if [ ${#want[@]} -gt 0 ]; then
  echo "setup-debian: installing ${want[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${want[@]}" >/dev/null
fi
