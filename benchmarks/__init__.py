"""Performance benchmarks: targets live here (`make bench`), never in timed tests."""
