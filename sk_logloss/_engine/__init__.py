"""The TensorFlow training engine: a stochastic path (``loop``) and an L-BFGS path (``lbfgs``).

Modules, in the order a fit meets them:

- ``types``: what the estimator hands over and gets back (no TensorFlow);
- ``loop``: chooses graph, XLA or streaming and runs the calls;
- ``epochs``: the in-graph loop of epochs and minibatches;
- ``batches``: where a minibatch is drawn, dense or CSR;
- ``trainer``: variables, Keras optimizer, one step (``update``: its update rule);
- ``model``: activations, logits and the loss;
- ``rules``, ``early_stopping``, ``divergence``: what ends an epoch;
- ``streaming``: epochs over X too large to share;
- ``lbfgs``: full-batch L-BFGS;
- ``host``: permutations and arrays shared with TensorFlow;
- ``sweep``, ``sweep_model``, ``sweep_loop``: LogLossClassifierCV's candidates on
  leading ``[fold, grid point]`` axes: traced, their logits and losses, and from the
  host (``lanes``: a run's tasks two at a time).

Importing this package loads nothing; the modules other than ``types`` load
TensorFlow.
"""
