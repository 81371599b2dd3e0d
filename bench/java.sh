#!/usr/bin/env bash
# Runs one of the benchmark mains that live in a module's test sources, on that module's test
# classpath:   bench/java.sh [-m MODULE] CLASS [ARGS...]      (MODULE defaults to core)
# JVM options: JAVA_OPTS (e.g. JAVA_OPTS=-Xmx128m).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
module=core
if [[ ${1:-} == -m ]]; then module=$2; shift 2; fi
cls=$1; shift
cd "$top"
./mvnw -q -B -DskipTests -pl "$module" -am install >/dev/null
./mvnw -q -B -pl "$module" dependency:build-classpath -Dmdep.outputFile=target/bench.cp -Dmdep.includeScope=test >/dev/null
exec java ${JAVA_OPTS:-} --enable-native-access=ALL-UNNAMED \
  -cp "$module/target/classes:$module/target/test-classes:$(cat "$module/target/bench.cp")" "$cls" "$@"
