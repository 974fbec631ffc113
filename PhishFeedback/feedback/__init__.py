"""PhishFeedback's modules, one concern each; phish_feedback.py wires them.

The shapes that cross modules are typing.NamedTuple: typed and immutable like frozen dataclasses,
but far cheaper to define, which counts in a process Cortex starts for every click.
"""
