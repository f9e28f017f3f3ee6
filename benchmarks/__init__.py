"""The suite's commands: tiny data, pipeline, leaderboard, step benchmark."""
