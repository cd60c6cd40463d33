"""Tiny check modules and notebooks for testing the exercise machinery.

``ch99`` is a complete example chapter: its solution notebook is built by
:func:`notebooks.solution_notebook`. ``ch98`` holds checks that misbehave on purpose (a
check with a bug, one that calls the student's code itself).
"""
