"""The engine: a problem, the oracles' answers, and one verdict.

==========================  ===============================================================
``problems``                the ``Problem`` protocol and its four kinds (function, tangent,
                            Jacobian, network): what is differentiated, and how each oracle
                            evaluates it
``judge``                   ``judge_problem``: every check ends here
``comparison``              one answer against the claimed derivative, element by element
``tolerances``              each oracle kind's tolerance per dtype, and rounding allowances
``precision``               a bfloat16, float16 or float32 result judged to its precision
``rounding``                rounding bounds of a network's forward and backward pass
``kinks``                   elements at a kink, judged by one-sided derivatives
``disputes``                exact oracles that disagree: settled before anyone is blamed
``arbitration``             a disputed element recomputed in mpmath
``sampling``                the sampled check for large inputs
``verdict``                 ``Verdict`` and ``Dispute``
==========================  ===============================================================

This layer imports ``reference``, ``oracles.methods`` and itself, never the
entry points (``oracles.checks``).
"""
