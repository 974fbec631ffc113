"""PhishFeedback's modules, one concern each; phish_feedback.py wires them.

The shapes that cross modules are immutable named tuples with typed fields (see `shapes`).
"""
