"""Online convex optimization: optimistic online mirror descent and its mirror maps."""

from guardopt.online.mirror import EntropicSimplex, EuclideanBall, MirrorMap
from guardopt.online.oomd import OnlineGradientDescent, OOMDConfig, OptimisticOMD

__all__ = ["EntropicSimplex", "EuclideanBall", "MirrorMap", "OOMDConfig", "OnlineGradientDescent", "OptimisticOMD"]
