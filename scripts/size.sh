#!/usr/bin/env bash
# Size of the mobile library: builds libeid_ffi.so with the release profile (opt-level s, LTO,
# one codegen unit) but unstripped, prints its stripped size and what each crate costs, measured
# from the symbol table (the way cargo-bloat counts: a function belongs to the crate its path
# names; generic code counts for the crate that defines it). x86_64 here, a proxy for arm64, and a
# pessimistic one: rustc calls functions through the GOT on x86_64 (no PLT), which costs a GOT
# slot and a 24-byte relocation per callee; the relocation line below shows how much (arm64 calls
# directly, and the NDK packs relocations from API 28 on). Target: 5,000,000 bytes (issue 7,
# docs/adr/0014). One LTO build: several minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_PROFILE_RELEASE_STRIP=false
cargo build -q -p eid-ffi --release --lib
LIB=target/release/libeid_ffi.so
STRIPPED=target/release/libeid_ffi.stripped.so
strip -o "$STRIPPED" "$LIB"
python3 - "$LIB" "$STRIPPED" <<'PY'
import collections, os, re, subprocess, sys
lib, stripped = sys.argv[1], sys.argv[2]
size = os.path.getsize(stripped)
text = subprocess.run(["size", "-A", lib], capture_output=True, text=True, check=True).stdout
sections = {l.split()[0]: int(l.split()[1]) for l in text.splitlines() if l.startswith(".")}
code = sections.get(".text", 0)
out = subprocess.run(["nm", "-S", "--size-sort", "-C", lib], capture_output=True, text=True, check=True).stdout
by_crate = collections.Counter()
for line in out.splitlines():
    parts = line.split(" ", 3)
    if len(parts) < 4 or parts[2] not in "tTwW":
        continue
    name = parts[3]
    # <T as crate::Trait>::f counts for T's crate; plain paths for their first segment.
    name = re.sub(r"^<(impl )?", "", name)
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", name)
    crate = m.group(1) if m else ("C (sqlite, ring asm)" if "::" not in name else "other")
    if crate in ("core", "alloc", "std"):
        crate = "std"
    by_crate[crate] += int(parts[1], 16)
TARGET = 5_000_000
print(f"libeid_ffi.so stripped: {size} bytes ({size / 1048576:.2f} MiB); .text {code / 1048576:.2f} MiB")
margin = TARGET - size
print(f"target {TARGET} bytes: {'under' if margin >= 0 else 'OVER'} by {abs(margin)} bytes")
unwind = sum(sections.get(s, 0) for s in (".eh_frame", ".eh_frame_hdr", ".gcc_except_table"))
relocs = sections.get(".rela.dyn", 0) + sections.get(".relr.dyn", 0) + sections.get(".got", 0)
print(f"unwind tables {unwind} bytes (panics unwind: kept); dynamic relocations + GOT {relocs} bytes")
import ctypes
ctypes.CDLL(os.path.abspath(stripped))  # the measured file is one the loader takes (DT_RELR)
print("the stripped library loads (dlopen)")
print("code by crate (functions in the symbol table):")
for crate, n in by_crate.most_common(20):
    print(f"  {crate:28} {n / 1024:8.0f} KiB")
PY
