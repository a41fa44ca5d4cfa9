#!/usr/bin/env bash
# Builds the bench (bench/GraphDl.Bench.sln, Release) and runs the side-by-side comparison; writes bench/results.md.
# Options pass through to the driver: --rounds N (5), --warmup S (2), --measure S (0.5), --groups g1,g2, --out FILE, --no-profile.
# Defaults finish in about 5 minutes on a 2-core machine (first build and NuGet restore of LibTorch not counted).
set -euo pipefail
cd "$(dirname "$0")"
dotnet build GraphDl.Bench.sln -c Release -nologo -v quiet -clp:ErrorsOnly
exec dotnet Driver/bin/Release/net10.0/BenchDriver.dll "$@"
