"""The three modes a model_fn is called in, with the original string values."""


class ModeKeys:
    """Standard names for model modes; values match tf.estimator's ('train', 'eval', 'infer')."""

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"
