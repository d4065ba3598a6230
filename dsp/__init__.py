"""spasmwatch signal processing: pure numpy/scipy, no IO."""
