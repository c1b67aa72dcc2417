"""ecobrain: the decision layer of a provincial eco-environment brain for air quality.

The code lives in the design card's top-level folders (``ontology/``, ``kb_loaders/``,
``reasoning/``, ``model_adapters/``, ``hpc_jobs/``, ``api/``), installed as sub-packages of
this one namespace so that nothing generic like ``api`` lands at the top of site-packages.
"""

__version__ = "0.1.0"
