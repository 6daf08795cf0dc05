"""rejuv: software rejuvenation of virtualized clusters.

Parts (one subpackage each; dependencies point one way):

- :mod:`rejuv.model`: the paper's closed-form total-throughput models;
- :mod:`rejuv.report`: figures and tables built on the model;
- :mod:`rejuv.cli`: the ``rejuv`` command.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
