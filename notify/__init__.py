"""notify stage (see design.md, Layout). Imports nothing of ours."""
