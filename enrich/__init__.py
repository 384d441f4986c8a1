"""enrich stage (see docs/design.md, Layout). Imports nothing of ours."""
