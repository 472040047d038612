"""The Kubeflow Pipelines v2 training pipeline: compile, run locally, schedule recurring runs."""
