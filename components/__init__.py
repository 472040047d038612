"""Pipeline components (prepare, trainer, evaluator, exporter) over the estimator_core engine."""
