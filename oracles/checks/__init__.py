"""The entry points, one module per family, all on one engine (``oracles.engine``).

==========================  ===============================================================
``options``                 ``Options``: what every check shares, validated in one place
``gradient``                ``check_gradient``: the gradient of a scalar function
``network``                 ``check_network_gradients``, ``check_projections``, and
                            ``answer``/``gradients`` of one oracle: a network's ∂E/∂(W^l, b^l)
``products``                ``check_vjp``, ``check_jvp``, ``check_jacobian``, ``check_hvp``
``layers``                  ``check_layer``, ``object_layer``: a layer's backward pass
``rules``                   ``check_torch_function``, ``check_custom_vjp``, ``check_custom_jvp``:
                            custom autograd rules
``tensors``                 torch tensors, jax arrays, 16-bit NumPy arrays: the user's arrays
                            where they live (dtype, device), and their float64 copies
``properties``              backward-pass properties (repeatable, linear, untouched, dtypes, batch)
``taylor``                  ``taylor_test``, ``taylor_network``: the Taylor remainder test
``golden``                  golden files: a gradient saved once, compared later
``declared``                ``declare``: checks collected by the pytest plugin
``registration``            ``register_activation``, ``register_loss``
``arguments``               the user's arguments and returned derivatives, validated
``files``                   atomic file writes
==========================  ===============================================================

The calling convention every entry point shares is written once, in
``backprop_reference.oracles``.
"""
