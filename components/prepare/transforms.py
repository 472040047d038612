"""The prepare algorithm as Beam transforms: infer a schema, validate rows, split, count, encode.

Elements entering `PrepareExamples` are record batches from `inputs.ReadRecordBatches`:
`(source, format, header, [(line, text), ...])`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import apache_beam as beam

from components.prepare import rows as rows_lib
from components.prepare import stats as stats_lib
from components.prepare.splits import SplitAssigner
from components.schema import Column, Schema


class InferSchemaFn(beam.CombineFn):
    """Record batches -> Schema.to_dict(): the narrowest type (int < float < string) per column.

    Every well-formed row takes part; rows with a wrong field count are left to validation.
    Columns come in `column_order` (the first file's header), then any other JSON keys sorted;
    a column with no values at all is a string column.
    """

    def __init__(self, column_order: Sequence[str], label: str | None):
        self._order = list(column_order)
        self._label = label

    def create_accumulator(self):
        return {}

    def add_input(self, ranks, batch):
        _, fmt, header, records = batch
        for name in header:
            ranks.setdefault(name, 0)
        if fmt == "csv":
            return self._add_csv(ranks, header, records)
        for _, text in records:
            try:
                fields = rows_lib.split_fields(fmt, header, text)
            except rows_lib.BadRow:
                continue
            for name, raw in fields.items():
                rank = ranks.get(name, 0)
                if rank == 3 or rows_lib.is_missing(raw):
                    ranks.setdefault(name, 0)
                elif fmt == "jsonl" and isinstance(raw, str):
                    ranks[name] = 3  # JSON chose a string: keep it one (e.g. zip codes)
                else:
                    ranks[name] = max(rank, rows_lib.narrowest_type(raw, rank))
        return ranks

    @staticmethod
    def _add_csv(ranks, header, records):
        rows = []
        for _, text in records:
            try:
                rows.append(list(rows_lib.split_fields("csv", header, text).values()))
            except rows_lib.BadRow:
                continue
        for name, column in zip(header, zip(*rows)):
            if ranks[name] < rows_lib.RANK["string"]:
                present = [t for t in column if not rows_lib.is_missing(t)]
                if present:
                    ranks[name] = max(ranks[name], rows_lib.column_rank(present, ranks[name]))
        return ranks

    def merge_accumulators(self, accumulators):
        merged: dict[str, int] = {}
        for ranks in accumulators:
            for name, rank in ranks.items():
                merged[name] = max(merged.get(name, 0), rank)
        return merged

    def extract_output(self, ranks):
        names = [n for n in self._order if n in ranks] + sorted(set(ranks) - set(self._order))
        columns = tuple(Column(n, rows_lib.TYPE_OF_RANK.get(ranks[n], "string")) for n in names)
        if self._label is not None and self._label not in ranks:
            raise ValueError(f"label column {self._label!r} is not in the data (columns: {names})")
        return Schema(columns=columns, label=self._label).to_dict()


class ParseRecords(beam.DoFn):
    """Record batch -> (split key, {column: typed value}) per good row; bad rows to DEAD_LETTER.

    The split key is the `split_key` column's typed value as text ("" if missing), or the
    whole raw record.
    """

    DEAD_LETTER = "dead_letter"

    def __init__(self, split_key: str | None = None):
        self._split_key = split_key
        self._schema_dict = None
        self._parse = None

    def process(self, batch, schema_dict):
        if schema_dict is not self._schema_dict:
            self._schema_dict = schema_dict
            self._parse = rows_lib.RowParser(Schema.from_dict(schema_dict))
        source, fmt, header, records = batch
        for line, text in records:
            try:
                values = self._parse(fmt, header, text)
            except rows_lib.BadRow as e:
                dead = {"source": source, "line": line, "text": text, "reason": str(e)}
                yield beam.pvalue.TaggedOutput(self.DEAD_LETTER, dead)
                continue
            if self._split_key is None:
                key = text
            else:
                value = values.get(self._split_key)
                key = "" if value is None else str(value)
            yield key, values


class AssignSplit(beam.PTransform):
    """(key, values) -> (split name, values) by a stable hash of the key."""

    def __init__(self, splits: Mapping[str, float]):
        super().__init__()
        self._assign = SplitAssigner(splits)

    def expand(self, keyed_rows):
        assign = self._assign
        return keyed_rows | "HashKey" >> beam.MapTuple(lambda key, values: (assign(key), values))


class EncodeExample(beam.DoFn):
    """{column: value} -> serialized tf.train.Example (int -> int64_list, float -> float_list,
    string -> bytes_list UTF-8); missing columns are absent from the Example. Bytes are
    deterministic, so reruns and runners agree byte for byte."""

    def setup(self):
        # Imported per worker, not at module import: the launcher never needs TensorFlow.
        from tensorflow.core.example import example_pb2

        self._example_cls = example_pb2.Example

    def process(self, values):
        example = self._example_cls()
        feature = example.features.feature
        for name, value in values.items():
            if isinstance(value, str):
                feature[name].bytes_list.value.append(value.encode("utf-8"))
            elif isinstance(value, float):
                feature[name].float_list.value.append(value)
            else:
                feature[name].int64_list.value.append(value)
        # Sorted map keys: the same row gives the same bytes in every worker process.
        yield example.SerializeToString(deterministic=True)


class PrepareExamples(beam.PTransform):
    """Record batches -> {"schema", "stats", "dead_letter", "examples/<split>"} PCollections.

    "schema" and "stats" hold one dict each (Schema.to_dict() and the stats.json document);
    "dead_letter" holds {source, line, text, reason} dicts; "examples/<split>" holds serialized
    tf.train.Example bytes.
    """

    def __init__(
        self,
        *,
        splits: Mapping[str, float],
        label: str | None,
        schema: Schema | None = None,
        column_order: Sequence[str] = (),
        split_key: str | None = None,
    ):
        super().__init__()
        self._splits = dict(splits)
        self._label = label
        self._schema = schema
        self._order = list(column_order)
        self._split_key = split_key

    def expand(self, batches):
        if self._schema is not None:
            schema = batches.pipeline | "GivenSchema" >> beam.Create([self._schema.to_dict()])
        else:
            schema = batches | "InferSchema" >> beam.CombineGlobally(
                InferSchemaFn(self._order, self._label)
            )
        parsed = batches | "ParseAndValidate" >> beam.ParDo(
            ParseRecords(self._split_key), beam.pvalue.AsSingleton(schema)
        ).with_outputs(ParseRecords.DEAD_LETTER, main="rows")
        split_rows = parsed.rows | "AssignSplit" >> AssignSplit(self._splits)
        names = list(self._splits)
        parts = split_rows | "BySplit" >> beam.Partition(
            lambda row, _: names.index(row[0]), len(names)
        )
        outputs = {"schema": schema, "dead_letter": parsed[ParseRecords.DEAD_LETTER]}
        for name, part in zip(names, parts):
            outputs[f"examples/{name}"] = (
                part
                | f"DropSplitName[{name}]" >> beam.Values()
                | f"Encode[{name}]" >> beam.ParDo(EncodeExample())
            )
        dead_count = outputs["dead_letter"] | "CountDeadLetter" >> beam.combiners.Count.Globally()
        outputs["stats"] = (
            split_rows
            | "ComputeStats" >> beam.CombineGlobally(stats_lib.ComputeStatsFn())
            | "FinishStats"
            >> beam.Map(
                lambda acc, schema, dead: stats_lib.finish(acc, schema, dead, names),
                beam.pvalue.AsSingleton(schema),
                beam.pvalue.AsSingleton(dead_count),
            )
        )
        return outputs
