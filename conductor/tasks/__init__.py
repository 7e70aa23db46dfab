"""The conductors' multi-step paths, one small task object per path."""
