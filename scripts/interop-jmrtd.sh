#!/usr/bin/env bash
# Independent evidence: JMRTD (an ICAO 9303 reader we did not write, from Maven Central) reads
# the simulated CCCD through javax.smartcardio -> libpcsclite -> pcscd -> vpcd, as from a desk
# reader: BAC and PACE (CAN and MRZ), every file, DG1 against the fixture citizen, DG2 face
# record, passive authentication (hashes, CMS signature, DSC under the test CSCA), chip and
# active authentication. Tests: interop/jmrtd (Maven + JUnit 5).
#
#   scripts/interop-jmrtd.sh        builds `eid` if needed, starts pcscd with vpcd unless one
#                                   runs, runs the tests, stops the pcscd it started
#
# Needs pcscd + vsmartcard-vpcd, a JDK and maven (scripts/test.sh installs them). Maven keeps
# its downloads in ~/.m2 (EID_MAVEN_REPO to change), so later runs work offline.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
EID="$ROOT/target/debug/eid"

[ -x "$EID" ] || cargo build -q -p eid-cli

# shellcheck source=scripts/pcsc-env.sh
. scripts/pcsc-env.sh
# shellcheck source=scripts/jvm-common.sh
. scripts/jvm-common.sh
started=0
if ! _pcsc_daemon_alive; then
  pcsc_start
  started=1
fi
trap '[ "$started" = 1 ] && pcsc_stop' EXIT

status=0
rm -rf interop/jmrtd/target/surefire-reports
(cd interop/jmrtd && mvn -B -q \
  -Dmaven.repo.local="${EID_MAVEN_REPO:-$HOME/.m2/repository}" \
  -Deid.cli="$EID" \
  test) || status=$?
surefire_summary JMRTD interop/jmrtd/target/surefire-reports
exit "$status"
