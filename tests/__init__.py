from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout (git, docs, examples); runtime data is package data
