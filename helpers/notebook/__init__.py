"""Running notebooks (papermill, profiles, refresh) and showing things in them (players, figures)."""
