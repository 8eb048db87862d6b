#!/usr/bin/env bash
# `make bench`: TODO, not written yet.
# What it should do: throughput and handshake-rate benchmarks (bench/, the 'dtlskit bench' command).
# Arguments: the Makefile passes the build directory as $1 where it has one.
# Until then it exits 2 so that nobody mistakes it for a passing run.
echo "make bench: not yet implemented (scripts/bench.sh is a TODO stub)" >&2
exit 2
