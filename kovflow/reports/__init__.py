"""The coordinator's reports: stalled-case audit, monitor, rollout tracker, and their exports."""
