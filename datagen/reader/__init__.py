"""The generator side: epoch plan, shard reading, batches, provenance, and the
Keras ``PyDataset`` around them. Depends on the contract room only; Keras is
imported by ``generator`` and its fit callbacks (``fitcallback``, ``resume``) alone, Dask never."""
