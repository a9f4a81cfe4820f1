#!/usr/bin/env bash
# Runs every test of the project, installing what the tests need first.
# This is the README's test command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")"

# The MinIO and SeaweedFS servers of the upstream-mode tests (versions pinned
# in the nested modules tools/minio and tools/seaweedfs, never linked into
# our binaries) are built once into the cache (~2.5 and ~12 min on 2 cores
# the first time; later runs reuse them). Their builds start first, in the
# background, so that their module downloads and compiles overlap the
# installs below; no test starts before both are done.
builds="$(mktemp -d)"
trap 'rm -rf "$builds"' EXIT
go run ./internal/miniotest/buildminio >"$builds/minio" 2>"$builds/minio.log" &
minio_build=$!
go run ./internal/seaweedtest/buildweed >"$builds/weed" 2>"$builds/weed.log" &
weed_build=$!
# built NAME PID: waits for a server build and prints its binary's path.
built() {
	if ! wait "$2"; then
		echo "test.sh: building $1 failed:" >&2
		cat "$builds/$1.log" >&2
		exit 1
	fi
	cat "$builds/$1"
}

# The end-to-end tests drive the real aws cli and boto3. A fresh machine has
# them (pyenv's Python); fall back to Debian's packages where they are missing.
if ! command -v aws >/dev/null 2>&1 || ! python3 -c 'import boto3' >/dev/null 2>&1; then
	echo "test.sh: installing awscli and boto3 from Debian" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli python3-boto3 >/dev/null
fi

# tests/clients drives the clients users run besides those: the aws cli v2
# (Debian's awscli, /usr/bin/aws; the aws on PATH may be v1), rclone, s3cmd
# and restic from Debian (and tests/console Debian's headless chromium),
# and the AWS SDK for JavaScript v3 from npm (the
# versions locked in tests/clients/js/package-lock.json, installed again
# only when the lock file changes).
missing=()
[ -x /usr/bin/aws ] || missing+=(awscli)
for tool in rclone s3cmd restic chromium; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "test.sh: installing ${missing[*]} from Debian" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
(
	cd tests/clients/js
	if ! sha256sum --status -c node_modules/.package-lock.sha256 2>/dev/null; then
		npm ci --prefer-offline --no-audit --no-fund --loglevel=error
		sha256sum package-lock.json >node_modules/.package-lock.sha256
	fi
)

# Tests that need a tool fail instead of skipping when CI is set.
export CI="${CI:-true}"

go build ./...
go vet ./...

MINIO_BIN="$(built minio "$minio_build")"
WEED_BIN="$(built weed "$weed_build")"
export MINIO_BIN WEED_BIN

go test -count=1 -timeout 20m ./...
# The upstream-mode end-to-end and scale-out tests once more with SeaweedFS
# as the upstream (gateway/store/upstream runs its SeaweedFS suites above).
UPSTREAM_ENGINE=seaweedfs go test -count=1 -timeout 20m ./tests/upstream/ ./tests/scaleout/
# The benchmark report generator is its own module (its plotting library
# stays out of ours).
(cd bench/report && go vet ./... && go test -count=1 ./...)
# The concurrency-heavy packages once more under the race detector. The
# upstream store's concurrency (gates, watchdog, caches) is raced with the
# single-node MinIO suites (-short skips its 4-node cluster runs: they add
# MinIO's behaviour, not more of our code, and take minutes under -race;
# they run above without it).
go test -count=1 -race -timeout 20m $(go list ./gateway/... | grep -v /gateway/store/upstream$)
go test -count=1 -race -short -timeout 20m ./gateway/store/upstream/
