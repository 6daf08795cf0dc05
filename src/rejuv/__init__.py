"""rejuv: software rejuvenation of virtualized clusters.

Parts (one subpackage each; dependencies point one way, each only on those
above it in this list):

- :mod:`rejuv.model`: the paper's closed-form total-throughput models: the
  symbol table, validated parameters and presets, one module per strategy
  on a shared base (the registry every other part asks about a strategy),
  crossovers, comparisons and phase maps. Imports only numpy and
  :mod:`rejuv.errors`;
- :mod:`rejuv.sim`: a cluster simulator, event by event, that checks the
  closed form and finds where it breaks; replications and Dask sweeps;
- :mod:`rejuv.trace`: throughput traces: the ``.trace`` file, CSV and
  Prometheus readers, segmentation into the model's parameters, Table 1
  fits, synthetic traces;
- :mod:`rejuv.lab`: real QEMU VMs under load, rejuvenated and measured into
  traces;
- :mod:`rejuv.report`: figures and tables built on the model, traces and
  simulations;
- :mod:`rejuv.cli`: the ``rejuv`` command: parses, calls the parts above and
  prints.

Beside them, modules every part may use:

- :mod:`rejuv.errors`: the one error hierarchy (:class:`~rejuv.errors.RejuvError`);
- :mod:`rejuv.files`: atomic file writing, for every output;
- :mod:`rejuv.limits`: memory and work limits, checked before work starts;
- :mod:`rejuv.provenance`: what every written result records to be made again;
- :mod:`rejuv.signals`: SIGTERM handled as Ctrl-C, so cleanup runs.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
