"""Analysis of a run (pure: no I/O, no clock, no processes): summaries, host checks, costs and
the recommendation, from request records and run results.
"""
