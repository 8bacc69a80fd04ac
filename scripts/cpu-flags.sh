#!/usr/bin/env bash
# Print extra C/C++ flags that llama.cpp builds need on this machine (empty when none).
#
# Why: llama.cpp builds with -march=native, which turns on AMX when the CPU advertises it, but
# some virtual machines (e.g. Firecracker) advertise AMX without letting a process use its
# tile registers: every model then dies with SIGILL in the AMX matmul at the first prompt of
# more than a few tokens (seen on a Firecracker VM where a short AMX probe still passes). So AMX
# is compiled out (-mno-amx-*, which wins over -march=native) inside a virtual machine (the
# cpuinfo "hypervisor" flag) or when a tiny AMX probe fails; LLMAPPS_AMX=1 keeps it.
set -u
grep -qw amx_tile /proc/cpuinfo 2>/dev/null || exit 0
[ "${LLMAPPS_AMX:-}" = 1 ] && exit 0
if grep -qw hypervisor /proc/cpuinfo; then
  echo "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  exit 0
fi
CC=${CC:-cc}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/probe.c" <<'C'
#include <immintrin.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    unsigned char cfg[64];
    if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */)) return 2;
    memset(cfg, 0, sizeof cfg);
    cfg[0] = 1;   /* palette 1 */
    cfg[16] = 64; /* tile 0: 64 bytes per row */
    cfg[48] = 16; /* tile 0: 16 rows */
    _tile_loadconfig(cfg);
    _tile_zero(0);
    _tile_release();
    return 0;
}
C
"$CC" -O0 -mamx-tile -o "$dir/probe" "$dir/probe.c" >/dev/null 2>&1 || exit 0
if ! "$dir/probe" >/dev/null 2>&1; then
  echo "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
