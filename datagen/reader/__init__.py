"""The generator side: epoch plan, shard reading, batches, provenance, and the
Keras ``PyDataset`` around them. Depends on the contract room only; Keras is
imported by ``generator`` alone, Dask never."""
