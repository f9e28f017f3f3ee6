"""Benchmark suite commands: tiny data, pipeline, leaderboard, step benchmark."""
