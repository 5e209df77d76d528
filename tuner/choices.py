"""The choices `tuner optimize` offers, declared once: the CLI shows them, app checks them,
the optimizer and the runners act on them."""

SAMPLERS = ("tpe", "grid", "random", "nsga2")
PRUNERS = ("median", "halving")
RUNNERS = ("docker", "swarm")
