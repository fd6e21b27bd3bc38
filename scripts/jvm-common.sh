# What the scripts running JVM tests with Maven share (sourced by scripts/bindings.sh,
# scripts/interop-jmrtd.sh and scripts/interop-multipaz.sh).

# java_version JAVA: its Java specification version (17, 21, 25, ...).
java_version() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'
}

# jdk_java MIN [JAVA ...]: the first of the given `java` binaries, then of those under
# /usr/lib/jvm, whose Java version is MIN or later (its path on standard output); fails when
# there is none.
jdk_java() {
  local min="$1" j v
  shift
  local candidates=("$@")
  for j in /usr/lib/jvm/*/bin/java; do candidates+=("$j"); done
  for j in "${candidates[@]}"; do
    [ -n "$j" ] && [ -x "$j" ] || continue
    v="$(java_version "$j")"
    if [ -n "$v" ] && [ "${v%%.*}" -ge "$min" ] 2>/dev/null; then echo "$j"; return 0; fi
  done
  return 1
}

# surefire_summary LABEL DIR [NOTE]: what Surefire ran, from DIR's reports (`mvn -q` hides its
# own summary): "LABEL: P passed, F failed", and ", S skipped NOTE" when tests were skipped.
surefire_summary() {
  python3 - "$1" "$2" "${3:-}" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
t = f = k = 0
for p in glob.glob(sys.argv[2] + "/TEST-*.xml"):
    s = ET.parse(p).getroot()
    t += int(s.get("tests")); f += int(s.get("failures")) + int(s.get("errors"))
    k += int(s.get("skipped") or 0)
skipped = f", {k} skipped {sys.argv[3]}".rstrip() if k else ""
print(f"{sys.argv[1]}: {t - f - k} passed, {f} failed{skipped}")
PY
}
