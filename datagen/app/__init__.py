"""The application layer: the ``datagen`` command line, ``show``, the demo (which runs
``split-datasets`` as its own process) and the sample data. Nothing imports it, and it
never imports ``splitters``."""
