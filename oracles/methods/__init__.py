"""The oracles proper: the same derivative computed by other means.

==========================  ===============================================================
``registry``                ``ORACLES``: each oracle's name, kind and the callable per problem mode
``answer``                  ``Answer``: what an oracle returns (values, error estimates, kinks)
``frameworks``              JAX, torch and NumPy as array namespaces; ``OracleCannotRun``
``jax_oracle``              ``jax.grad`` / ``jax.vjp`` / ``jax.jvp`` on float64 copies
``torch_oracle``            ``torch.autograd`` / ``torch.func.jvp`` on float64 copies
``numerical``               complex step, Richardson, central differences: stencils, evaluators
``trees``                   pytrees of arrays, their leaves' names and ``Layout``
``torch_training``          a training step by torch.autograd (the report's training section)
``progress``                a progress bar for long numerical sweeps
==========================  ===============================================================

Nothing here judges: the engine (``oracles.engine``) does.  This layer imports
only ``reference`` and itself.
"""
