"""Measurements behind `creative-rnn bench` and the scripts in benchmarks/.

Every figure is measured beside its baseline in the same process and reported as a ratio,
so a slow or busy machine moves both alike."""
