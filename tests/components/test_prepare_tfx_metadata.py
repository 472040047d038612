"""schema.pbtxt and statistics/Split-<name>/FeatureStats.pb, read with tensorflow-metadata, agree with our
schema.json / stats.json and with the examples themselves."""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from components import artifacts, prepare
from components import statistics as stats_lib
from components.datasets import penguins_csv

SCHEMA_TYPES = {"int": schema_pb2.INT, "float": schema_pb2.FLOAT, "string": schema_pb2.BYTES}


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("tfmd") / "examples")
    result = prepare.run([penguins_csv()], out, label="species")
    with open(result.schema_path) as f:
        schema = json.load(f)
    with open(result.stats_path) as f:
        stats = json.load(f)
    return result, schema, stats


def split_values(out, split):
    """{feature: [values]} of the examples written for `split` (floats as the CSV's float64)."""
    values = {}
    paths = sorted(glob.glob(os.path.join(out, f"Split-{split}", "*.tfrecord.gz")))
    for record in tf.data.TFRecordDataset(paths, compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        for name, feature in example.features.feature.items():
            kind = feature.WhichOneof("kind")
            got = getattr(feature, kind).value
            if kind == "float_list":  # back to the CSV's decimal text, parsed as float64
                got = [float(str(np.float32(v))) for v in got]
            values.setdefault(name, []).extend(got)
    return values


def read_feature_stats(out, split):
    path = artifacts.feature_stats_path(out, split)
    with open(path, "rb") as f:
        stats_list = statistics_pb2.DatasetFeatureStatisticsList.FromString(f.read())
    [dataset] = stats_list.datasets
    return dataset


def test_schema_pbtxt_has_our_types_presence_and_string_domains(penguins):
    result, schema, stats = penguins
    with open(os.path.join(result.output_dir, artifacts.SCHEMA_PBTXT_FILE)) as f:
        proto = text_format.Parse(f.read(), schema_pb2.Schema())
    features = {f.name: f for f in proto.feature}
    assert list(features) == [c["name"] for c in schema["columns"]]
    for column in schema["columns"]:
        feature, entry = features[column["name"]], stats["columns"][column["name"]]
        assert feature.type == SCHEMA_TYPES[column["type"]]
        assert (feature.value_count.min, feature.value_count.max) == (1, 1)
        assert feature.presence.min_fraction == (1.0 if entry["missing"] == 0 else 0.0)
    domains = {d.name: list(d.value) for d in proto.string_domain}
    assert domains == {
        name: sorted(stats["columns"][name]["vocabulary"]) for name in ("species", "island", "sex")
    }
    assert features["species"].domain == "species" and not features["year"].domain
    assert domains["island"] == ["Biscoe", "Dream", "Torgersen"]


def test_feature_stats_per_split_match_the_examples_and_add_up_to_stats_json(penguins):
    result, schema, stats = penguins
    totals = {}
    for split in result.counts:
        dataset = read_feature_stats(result.output_dir, split)
        assert dataset.name == split and dataset.num_examples == result.counts[split]
        values = split_values(result.output_dir, split)
        features = {f.path.step[0]: f for f in dataset.features}
        assert list(features) == [c["name"] for c in schema["columns"]]
        for name, feature in features.items():
            got = values.get(name, [])
            if feature.type == statistics_pb2.FeatureNameStatistics.STRING:
                string_stats = feature.string_stats
                common = string_stats.common_stats
                counted = {v.decode(): got.count(v) for v in set(got)}
                top = {t.value: int(t.frequency) for t in string_stats.top_values}
                assert top == counted and string_stats.unique == len(counted)
                ranks = {b.label: b.sample_count for b in string_stats.rank_histogram.buckets}
                assert ranks == counted
                mean_length = np.mean([len(v) for v in got])
                assert string_stats.avg_length == pytest.approx(mean_length, abs=1e-4)
            else:
                num = feature.num_stats
                common = num.common_stats
                array = np.array(got, dtype=np.float64)
                assert num.mean == pytest.approx(array.mean(), abs=1e-9)
                assert num.std_dev == pytest.approx(array.std(), abs=1e-9)
                assert num.min == pytest.approx(array.min(), abs=1e-12)
                assert num.max == pytest.approx(array.max(), abs=1e-12)
                assert num.num_zeros == int((array == 0).sum())
                [histogram] = num.histograms
                assert histogram.type == statistics_pb2.Histogram.STANDARD
                buckets = histogram.buckets
                assert sum(b.sample_count for b in buckets) == len(got)
                as_dicts = [
                    {"low": b.low_value, "high": b.high_value, "count": b.sample_count}
                    for b in buckets
                ]
                off, _ = histogram_off(array, as_dicts)
                assert off == 0  # few distinct values: counted exactly
            assert common.num_non_missing == len(got)
            assert common.num_missing == result.counts[split] - len(got)
            total = totals.setdefault(name, {"count": 0, "missing": 0})
            total["count"] += common.num_non_missing
            total["missing"] += common.num_missing
    for name, total in totals.items():
        entry = stats["columns"][name]
        assert (total["count"], total["missing"]) == (entry["count"], entry["missing"])


def histogram_off(array, buckets):
    """(bucket counts differing from numpy's over the same edges, values within 0.5% of an edge)."""
    edges = [b["low"] for b in buckets] + [buckets[-1]["high"]]
    expected, _ = np.histogram(array, bins=np.array(edges))
    off = sum(abs(int(a) - b["count"]) for a, b in zip(expected, buckets))
    near = sum(int(np.sum(np.abs(array - e) <= 0.005 * max(abs(e), 1e-9))) for e in edges)
    return off, near


def test_stats_json_histograms_match_numpy_over_every_example(penguins):
    result, schema, stats = penguins
    values = {}
    for split in result.counts:
        for name, got in split_values(result.output_dir, split).items():
            values.setdefault(name, []).extend(got)
    for column in schema["columns"]:
        if column["type"] == "string":
            continue
        entry = stats["columns"][column["name"]]
        buckets = entry["histogram"]
        assert len(buckets) == stats_lib.HISTOGRAM_BUCKETS
        assert sum(b["count"] for b in buckets) == entry["count"]
        assert buckets[0]["low"] == pytest.approx(entry["min"], abs=1e-9)
        assert buckets[-1]["high"] == pytest.approx(entry["max"], abs=1e-9)
        off, _ = histogram_off(np.array(values[column["name"]], dtype=np.float64), buckets)
        assert off == 0  # few distinct values: counted exactly
