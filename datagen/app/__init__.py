"""The application layer: the ``datagen`` and ``split-datasets`` command lines, the
demo and the sample data. The only room that may use both ``splitters`` and the
generator side; nothing imports it."""
