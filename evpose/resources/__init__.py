"""Package data: the real DHP19 camera calibration."""
