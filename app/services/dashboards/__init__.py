"""Read-only overviews: the reseller's home screen."""
