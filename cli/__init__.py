"""The ``scarlet-tf`` command line: thin click wrappers over the scarlet_tf library."""
