"""Hypersweep's PyTorch trainer (see ../README.md)."""
