#!/usr/bin/env bash
# Independent evidence: Google's Multipaz (org.multipaz:multipaz-jvm from Maven Central, the
# ISO/IEC 18013-5 implementation behind Android's credential stack) is the mdoc reader against
# our holder `eid wallet mdoc present --tcp`: it parses the engagement, derives the session keys,
# encrypts, sends a reader-authenticated DeviceRequest and checks the DeviceResponse (issuer
# chain to the IACA of the backend's trust list, digests, validity, device signature or MAC).
# Over NFC too: the holder as a card in vpcd (`--nfc-vpcd`), Multipaz reading it through
# javax.smartcardio -> pcscd, as a phone held to a desk reader (static handover, ENVELOPE).
# Tests: interop/multipaz (Maven + Kotlin + JUnit 5), docs/adr/0065.
#
#   scripts/interop-multipaz.sh     builds `eid` if needed, starts pcscd with vpcd unless one
#                                   runs, runs the tests, stops the pcscd it started
#
# multipaz-jvm is Java 21 bytecode: Maven runs on $EID_MULTIPAZ_JAVA_HOME, else a JDK 21+
# under /usr/lib/jvm (the machine's Temurin beside OpenJDK 17). Maven keeps its downloads in
# ~/.m2 (EID_MAVEN_REPO to change): ~40 MB once per machine, later runs work offline.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
EID="$ROOT/target/debug/eid"

[ -x "$EID" ] || cargo build -q --workspace --all-features

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
java="$(jdk_java 21 "${EID_MULTIPAZ_JAVA_HOME:+$EID_MULTIPAZ_JAVA_HOME/bin/java}")" ||
  { echo "no JDK 21+ found for Multipaz (Java 21 bytecode): set EID_MULTIPAZ_JAVA_HOME" >&2; exit 1; }
JAVA_HOME="$(dirname "$(dirname "$java")")"
export JAVA_HOME
# Maven 3.8's bundled Guava calls sun.misc.Unsafe, which JDK 24+ warns about on every run.
v="$(java_version "$java")"
[ "${v%%.*}" -ge 23 ] && MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
export MAVEN_OPTS="${MAVEN_OPTS:-}"

status=0
rm -rf interop/multipaz/target/surefire-reports
(cd interop/multipaz && mvn -B -q \
  -Dmaven.repo.local="${EID_MAVEN_REPO:-$HOME/.m2/repository}" \
  -Deid.cli="$EID" \
  test) || status=$?
# Skipped: the known gaps of docs/adr/0065, each a @Disabled test that passes once closed.
surefire_summary Multipaz interop/multipaz/target/surefire-reports "(known gaps, ADR 0065)"
exit "$status"
