"""The allowed values of the library's named settings, in one light module (no
TensorFlow), so the library checks them and the command line offers them as choices
without loading TensorFlow."""

OPTIMIZERS = ("sgd", "rmsprop")  # scarlet_tf.training.optimizers
SAMPLERS = ("uniform", "fair")  # scarlet_tf.training.samplers
STABILIZERS = ("learnable", "none")  # scarlet_tf.network.supernet
STABILIZER_INITS = ("identity", "he_normal", "glorot_uniform")  # scarlet_tf.network.blocks
DECAYS = ("cosine", "exponential")  # scarlet_tf.standalone.training
QUANTIZATIONS = ("none", "float16", "dynamic", "int8")  # scarlet_tf.export
DEFAULT_RECAL_BATCHES = 20  # x 64 images: about 1.3k, the whole digits train split
