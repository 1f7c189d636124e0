"""The :class:`Session`: what one Explorer is looking at, and the data derived from it.

- :mod:`.state`: the user's choices (model, filter, gap, clustering, projection, hover, selection)
  and the arrays derived from them (pairs in view, vectors, order, levels of detail, tiles);
- :mod:`.jobs`: work that runs in worker threads (projections shared between views, large
  clusterings), with progress and cancellation;
- :mod:`.readouts`: the gap/loss numbers of the pairs the readout is about.
"""
from .jobs import ProjectionTicket
from .state import (
    GAP_SCOPES,
    LOSS_FULL_BATCH_LIMIT,
    ORDER_SYNC_LIMIT,
    PROJECTION_SCOPES,
    PROJECTIONS,
    QUADRANTS,
    Session,
)

__all__ = ["Session", "ProjectionTicket", "PROJECTIONS", "QUADRANTS", "GAP_SCOPES", "PROJECTION_SCOPES",
           "ORDER_SYNC_LIMIT", "LOSS_FULL_BATCH_LIMIT"]
