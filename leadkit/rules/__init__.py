"""The rule files under rules/ as typed, validated models (one module per file) and their loader.

Steps import rules; nothing here imports a step."""
