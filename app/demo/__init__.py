"""The demo data set: a fixed catalogue, a plan generated from a seed, and its replay through the models."""
